/* loss kernels: being written */
