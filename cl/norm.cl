/* norm kernels: being written */
