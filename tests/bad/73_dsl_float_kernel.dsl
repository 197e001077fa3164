input 32x32x3 | conv 10 k2.5
