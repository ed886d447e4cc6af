/* optim ops (ref backend): being written */
