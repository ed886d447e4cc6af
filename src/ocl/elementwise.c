/* elementwise ops (ocl backend): being written */
