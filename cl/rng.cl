/* rng kernels: being written */
