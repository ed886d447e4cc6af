/* elementwise op tests: being written */
#include "registry.h"
