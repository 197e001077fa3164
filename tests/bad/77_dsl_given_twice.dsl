input 8x8x3 | conv 8 k3 k5
