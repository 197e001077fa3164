input 32x32x3 | conv 10 k5 zz | relu
