input 32x32x3 | | relu
