input 4x4x3 | conv 8 k7
