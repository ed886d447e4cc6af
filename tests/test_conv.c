/* conv op tests: being written */
#include "registry.h"
