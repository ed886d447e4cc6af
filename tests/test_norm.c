/* norm op tests: being written */
#include "registry.h"
