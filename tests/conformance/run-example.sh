#!/usr/bin/env bash
# conformance.custom_ptp: installs the SDK of this build tree into a temporary prefix, builds
# examples/custom-backend out of tree against it (as sdk.install_consumer does) and runs the
# conformance kit on the resulting .so, as a platform team runs it on its own backend.
#   run-example.sh <build dir> <source dir> <cnikitctl>
set -euo pipefail
build=$1 src=$2 cnikitctl=$3
umask 022  # the loader refuses group/world-writable backends
work=$(mktemp -d /tmp/cnkt-conf-$$-XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --component sdk --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/custom-backend" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$work/build" -j2 >/dev/null
lib=$work/build/libcnikit-custom-ptp.so
test -f "$lib" || { echo "FAIL: no $lib" >&2; exit 1; }
"$cnikitctl" conformance --backend "$lib"
