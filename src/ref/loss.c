/* loss ops (ref backend): being written */
