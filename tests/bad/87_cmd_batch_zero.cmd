vgg16 --batch 0
