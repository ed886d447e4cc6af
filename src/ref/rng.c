/* rng ops (ref backend): being written */
