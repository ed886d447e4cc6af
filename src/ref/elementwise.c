/* elementwise ops (ref backend): being written */
