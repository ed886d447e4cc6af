/* optim op tests: being written */
#include "registry.h"
