/* optim kernels: being written */
