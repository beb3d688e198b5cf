#!/usr/bin/env bash
# `verify` and its floor, reading every file of the tree (`find | xargs -P2 cat`, as bench.py
# measures it), alternately, on a tree that is already compiled; with a second binary, its
# `verify` too, in the same rounds (before and after a change).
#
#   bash bench/verify.sh BIN TENANTS.toml OUTPUT [ROUNDS] [OTHER_BIN]
#
# Each line: what, wall s, user s, system s, peak RSS KiB (from /usr/bin/time). Compare each
# verify with the read in the same round; the first round after other work may be cold.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BIN TENANTS.toml OUTPUT [ROUNDS] [OTHER_BIN]" >&2; exit 2; }
bin=$1 config=$2 output=$3 rounds=${4:-3} other=${5:-}
[ -d "$output" ] || { echo "$output: compile it first" >&2; exit 2; }
sync
for _ in $(seq "$rounds"); do
  /usr/bin/time -f "verify %e %U %S %M" "$bin" --quiet verify --config "$config" --output "$output" >/dev/null
  /usr/bin/time -f "read %e %U %S %M" sh -c 'find "$1" -type f -print0 | xargs -0 -P2 -n 2000 cat > /dev/null' sh "$output"
  if [ -n "$other" ]; then
    /usr/bin/time -f "other %e %U %S %M" "$other" --quiet verify --config "$config" --output "$output" >/dev/null
  fi
done
