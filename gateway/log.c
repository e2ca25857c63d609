/* placeholder, replaced by the foundation work */
#include "gateway/log.h"
