#!/usr/bin/env bash
# Compares the backend ABI (as described by the debug info of the built probe library,
# libcnikit_abi_probe.so) with the committed baseline cnikit-abi-<major>.xml. Builds nothing.
#
#   check-abi.sh <path/to/libcnikit_abi_probe.so>            check (the ctest sdk.abi_baseline)
#   check-abi.sh --update <path/to/libcnikit_abi_probe.so>   rewrite the baseline
#
# Any difference fails, also a compatible one such as a field appended at the end of a
# struct: every change of backend.h must be deliberate. Appending a field is allowed only
# together with a CNIKIT_ABI_MINOR bump; then refresh the baseline:
#   cmake --build <build> --target cnikit_abi_probe
#   sdk/abi/check-abi.sh --update <build>/lib/libcnikit_abi_probe.so
# and commit backend.h and the new XML together (review the XML diff: it must only add).
# Anything else (a changed type, size or offset of an existing field, a removed field, a
# changed or removed enumerator) needs a new major and a new baseline cnikit-abi-<N>.xml;
# the failure message says which of the two a difference looks like.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
update=0
if [[ ${1:-} == --update ]]; then
  update=1
  shift
fi
if [[ $# -ne 1 ]]; then
  echo "usage: $0 [--update] <libcnikit_abi_probe.so>" >&2
  exit 2
fi
probe=$1
[[ -f $probe ]] || { echo "check-abi: no probe library at $probe (build the cnikit_abi_probe target)" >&2; exit 2; }
for tool in abidw abidiff; do
  command -v "$tool" >/dev/null || { echo "check-abi: $tool not found (install abigail-tools)" >&2; exit 2; }
done

major=$(sed -n 's/^#define CNIKIT_ABI_MAJOR \([0-9]\+\).*/\1/p' "$here/../include/cnikit/backend.h")
baseline=$here/cnikit-abi-$major.xml

# Paths and source locations are left out so that the baseline does not depend on
# where or on which machine it was made.
dump() { abidw --no-corpus-path --no-comp-dir-path --no-show-locs --out-file "$2" "$1"; }

if ((update)); then
  dump "$probe" "$baseline"
  echo "check-abi: wrote $baseline"
  exit 0
fi

[[ -f $baseline ]] || { echo "check-abi: no baseline $baseline for ABI major $major (see --update)" >&2; exit 1; }

set +e
report=$(abidiff --no-added-syms --leaf-changes-only "$baseline" "$probe" 2>&1)
rc=$?
set -e
# abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible change
# (removed symbols). A changed struct is a "change" to abidiff whatever it is, so any
# difference fails here, and a reviewer decides with the hint below.
if ((rc == 0)); then
  echo "check-abi: backend ABI matches $baseline"
  exit 0
fi
echo "$report"
if ((rc & 3)); then
  echo "check-abi: abidiff failed to run (status $rc)" >&2
  exit 1
fi
echo "check-abi: the backend ABI differs from $baseline." >&2
if ((rc & 8)) || grep -Eq "deletion|offset changed|name changed|value changed|removed|enumerator change|data member change" <<<"$report"; then
  echo "  It changes or removes existing fields, types or enumerators: INCOMPATIBLE within major $major." >&2
  echo "  Undo it, or bump CNIKIT_ABI_MAJOR and start a new baseline cnikit-abi-<major>.xml." >&2
else
  echo "  It only adds (fields, enumerators). Compatible only if fields were appended at the end of" >&2
  echo "  their struct: then bump CNIKIT_ABI_MINOR and refresh the baseline:" >&2
  echo "    $0 --update <libcnikit_abi_probe.so>" >&2
fi
exit 1
