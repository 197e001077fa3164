input 8x8x3 | relu *x
