#!/usr/bin/env bash
# Checks that the C/C++ lines the last commit changed follow .clang-format (clang-format
# --dry-run --Werror on the changed line ranges of each changed file that still exists).
# Only what a commit touches is checked: the tree is not reformatted wholesale.
#
#   scripts/check-format.sh [BASE]     # BASE defaults to HEAD~1
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD~1}

command -v clang-format >/dev/null || { echo "check-format: clang-format is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
  echo "check-format: no commit $base to compare with; nothing to check" >&2
  exit 0
fi

failed=()
while IFS= read -r file; do
  [[ -f "$file" ]] || continue  # deleted or renamed away
  # The changed line ranges of this file ("+start,count" of each hunk; count 0 = a deletion).
  lines=()
  while IFS= read -r hunk; do
    range=${hunk#*+}
    range=${range%% *}
    start=${range%%,*}
    count=1
    [[ $range == *,* ]] && count=${range#*,}
    ((count > 0)) && lines+=("--lines=$start:$((start + count - 1))")
  done < <(git diff -U0 "$base" HEAD -- "$file" | grep '^@@')
  ((${#lines[@]} > 0)) || continue
  if ! clang-format --dry-run --Werror "${lines[@]}" "$file" 2>/tmp/check-format.$$; then
    cat /tmp/check-format.$$ >&2
    failed+=("$file")
  fi
done < <(git diff --name-only --diff-filter=d "$base" HEAD -- '*.c' '*.cc' '*.cpp' '*.h' '*.hpp')
rm -f /tmp/check-format.$$

if ((${#failed[@]} > 0)); then
  echo >&2
  echo "check-format: lines changed since $base do not follow .clang-format in:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  echo "Fix with: clang-format -i --lines=A:B FILE (or git clang-format $base), then amend the commit." >&2
  exit 1
fi
echo "check-format: changed lines since $base follow .clang-format" >&2
