/* norm ops (ref backend): being written */
