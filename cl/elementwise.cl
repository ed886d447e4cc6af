/* elementwise kernels: being written */
