/* optim ops (ocl backend): being written */
