vgg16 --format xml
