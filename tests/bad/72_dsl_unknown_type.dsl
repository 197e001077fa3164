input 32x32x3 | cnov 10 k3
