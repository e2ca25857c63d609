/* placeholder, replaced by the foundation work */
#include "gateway/config.h"
