/* placeholder, replaced by the foundation work */
#include "gateway/worker.h"
