#!/usr/bin/env bash
# The no-op compile, `--check` and the read floor, alternately, on a tree that is already compiled
# and settled (how bench/RESULTS.md measures 100,000 tenants, where one bench.py run takes 25 min).
#
#   bash bench/settled.sh BIN TENANTS.toml OUTPUT [ROUNDS]
#
# Each line: what, wall s, user s, system s, peak RSS KiB (from /usr/bin/time). Compare each no-op
# and --check with the read next to it; the first round after other work may be cold.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BIN TENANTS.toml OUTPUT [ROUNDS]" >&2; exit 2; }
bin=$1 config=$2 output=$3 rounds=${4:-3}
[ -d "$output" ] || { echo "$output: compile it first" >&2; exit 2; }
sync
for _ in $(seq "$rounds"); do
  /usr/bin/time -f "no-op %e %U %S %M" "$bin" --quiet compile --config "$config" --output "$output"
  /usr/bin/time -f "check %e %U %S %M" "$bin" --quiet compile --check --config "$config" --output "$output"
  /usr/bin/time -f "read %e %U %S %M" sh -c 'find "$1" -type f -print0 | xargs -0 -P2 cat > /dev/null' sh "$output"
done
