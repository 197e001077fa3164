vgg16 -e relu
