#!/usr/bin/env bash
# Issue 21's line, side by side: the same binary on the config without the access keys and on
# the same config with every access key (`bench/gen.py N` and `bench/gen.py N --access`), in
# alternate runs: a fresh compile into an emptied directory, a no-op compile, then `verify`.
#
#   bash bench/access.sh BIN [N] [ROUNDS] [DIR]
#
# DIR (default: a new temporary directory) holds both configs and trees, and the fresh compiles
# write there, so their time is that file system's: on a shared disk it swings by 3x from run to
# run (ext4 searching its inode tables past the inodes the last round freed), so give a tmpfs
# (`/dev/shm/...`) to compare tenantc's own work. Prints each run (config, step, wall s, user s,
# system s, peak RSS KiB), then per step the median wall and CPU (user + system) time of each
# config and the ratio of the access config's to the plain one's.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BIN [N] [ROUNDS] [DIR]" >&2; exit 2; }
bin=$(realpath "$1") n=${2:-10000} rounds=${3:-5}
dir=${4:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
python3 "$here/gen.py" "$n" > "$dir/plain.toml"
python3 "$here/gen.py" "$n" --access > "$dir/access.toml"
runs=$dir/runs.txt
: > "$runs"
for _ in $(seq "$rounds"); do
  for c in plain access; do
    rm -rf "$dir/out-$c"
    sync
    for step in fresh noop verify; do
      cmd=compile
      [ "$step" = verify ] && cmd=verify
      /usr/bin/time -a -o "$runs" -f "$c $step %e %U %S %M" \
        "$bin" --quiet "$cmd" --config "$dir/$c.toml" --output "$dir/out-$c" >/dev/null
      tail -1 "$runs"
    done
  done
done
python3 - "$runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    config, step, wall, user, system, _ = line.split()
    runs.setdefault((step, config), []).append((float(wall), float(user) + float(system)))
for step in ("fresh", "noop", "verify"):
    med = {c: [statistics.median(x[i] for x in runs[step, c]) for i in (0, 1)] for c in ("plain", "access")}
    (pw, pc), (aw, ac) = med["plain"], med["access"]
    print(f"{step:6} median plain {pw:.3f} s (cpu {pc:.3f})  access {aw:.3f} s (cpu {ac:.3f})"
          f"  ratio wall {aw / pw:.2f}x cpu {ac / pc:.2f}x")
PY
