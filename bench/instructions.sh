#!/usr/bin/env bash
# Issue 21's line counted in instructions instead of seconds: the same binary's user-space
# instructions (valgrind's cachegrind, no cache simulation) for a no-op compile and `verify` on
# the config without the access keys and on the same config with every access key
# (`bench/gen.py N` and `bench/gen.py N --access`). A count does not move with the machine's
# load, so it tells two builds apart where times on a shared machine swing by 10-20% from run
# to run; it leaves out what the kernel does (reading files, page faults) and what cache misses
# cost, so the times of bench/access.sh remain the measure of the line.
#
#   bash bench/instructions.sh BIN [N] [DIR]
#
# N defaults to 2,000 (valgrind runs about 50 times slower than the binary). DIR (default: a
# new temporary directory) holds both configs and trees. Needs valgrind.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BIN [N] [DIR]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "$0: needs valgrind" >&2; exit 2; }
bin=$(realpath "$1") n=${2:-2000}
dir=${3:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
python3 "$here/gen.py" "$n" > "$dir/plain.toml"
python3 "$here/gen.py" "$n" --access > "$dir/access.toml"
count() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" --quiet "$@" 2>&1 \
    >/dev/null | sed -n 's/.*I *refs: *//p' | tr -d ,
}
for c in plain access; do
  "$bin" --quiet compile --config "$dir/$c.toml" --output "$dir/out-$c" >/dev/null
done
for step in noop verify; do
  cmd=compile
  [ "$step" = verify ] && cmd=verify
  plain=$(count "$cmd" --config "$dir/plain.toml" --output "$dir/out-plain")
  access=$(count "$cmd" --config "$dir/access.toml" --output "$dir/out-access")
  python3 -c "print(f'$step: plain {$plain / 1e9:.3f} G instructions, access {$access / 1e9:.3f} G, ratio {$access / $plain:.3f}x')"
done
