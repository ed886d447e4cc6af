/* conv kernels: being written */
