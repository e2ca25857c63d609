#!/bin/sh
# Regenerate the autotools files; nothing else.
exec autoreconf --force --install --verbose "$(dirname "$0")"
