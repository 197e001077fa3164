input 8x8x6 | conv 8 k3 g4
