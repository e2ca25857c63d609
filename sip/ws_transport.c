#include "sip/ws_transport.h"
