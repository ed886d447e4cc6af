/* conv ops (ocl backend): being written */
