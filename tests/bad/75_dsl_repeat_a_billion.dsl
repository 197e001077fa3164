input 8x8x3 | relu *1000000000
