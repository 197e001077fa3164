conv 8 k3 | relu
