/* norm ops (ocl backend): being written */
