vgg61
