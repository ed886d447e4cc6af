/* rng ops (ocl backend): being written */
