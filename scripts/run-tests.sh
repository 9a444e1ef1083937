#!/usr/bin/env bash
# The README's test command: installs what is needed, builds, and runs every test (unit,
# netns integration, real container runtimes, ABI and install checks). Needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build=${CNIKIT_BUILD_DIR:-$root/build}
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
