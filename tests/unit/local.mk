# One fragment per layer, each edited by whoever owns that layer.
include tests/unit/transcoding.mk
include tests/unit/webrtc.mk
include tests/unit/sip.mk
include tests/unit/gateway.mk
include tests/unit/security.mk
include tests/unit/ops.mk
