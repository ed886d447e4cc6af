/* conv ops (ref backend): being written */
