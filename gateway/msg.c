/* placeholder, replaced by the foundation work */
#include "gateway/msg.h"
