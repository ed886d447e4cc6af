/* loss ops (ocl backend): being written */
