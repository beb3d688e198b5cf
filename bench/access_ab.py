#!/usr/bin/env python3
"""Issue 21's line for two builds side by side: bench/access.sh's steps (a fresh compile into an
emptied directory, a no-op compile, `verify`) on the config without and with every access key,
for each build in turn, the builds' order swapped every round so that a drift of the machine's
speed falls on both. On a shared machine a series of one build swings by 10-20% from the next,
which hides a change of a few percent between two builds measured one after the other.

    python3 bench/access_ab.py OLD_BIN NEW_BIN [N] [ROUNDS] [DIR]

N defaults to 10,000 tenants, ROUNDS to 20; DIR (default: a new directory under /dev/shm, a
tmpfs, so that the fresh compiles do not measure a shared disk) holds both configs and trees.
Prints, per step and build, the median wall time of each config and their ratio, then the
same of the CPU time (user + system, every thread), which a busy machine moves less; then the
ratio of each round's access run to its plain run, its median and quartiles, for how much one
series can be trusted.
"""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    bins = [os.path.realpath(b) for b in sys.argv[1:3]]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    root = "/dev/shm" if os.path.isdir("/dev/shm") else None
    d = sys.argv[5] if len(sys.argv) > 5 else tempfile.mkdtemp(prefix="tenantc-ab-", dir=root)
    os.makedirs(d, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    for config, extra in (("plain", []), ("access", ["--access"])):
        with open(os.path.join(d, f"{config}.toml"), "w") as f:
            subprocess.run([sys.executable, os.path.join(here, "gen.py"), str(n), *extra],
                           stdout=f, check=True)

    def run(binary: str, config: str, command: str) -> tuple[float, float]:
        """The wall time and the CPU time (user + system, every thread) of one run."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([binary, "--quiet", command, "--config", f"{d}/{config}.toml",
                        "--output", f"{d}/out-{config}"],
                       stdout=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu

    times: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for r in range(rounds):
        for binary in bins if r % 2 == 0 else bins[::-1]:
            for config in ("plain", "access"):
                shutil.rmtree(f"{d}/out-{config}", ignore_errors=True)
                os.sync()
                for step, command in (("fresh", "compile"), ("noop", "compile"),
                                      ("verify", "verify")):
                    times.setdefault((binary, config, step), []).append(run(binary, config, command))
    for step in ("fresh", "noop", "verify"):
        for i, binary in enumerate(bins):
            (plain, plain_cpu), (access, access_cpu) = (
                [statistics.median(t[k] for t in times[(binary, config, step)]) for k in (0, 1)]
                for config in ("plain", "access"))
            print(f"{step:6} {'old' if i == 0 else 'new'} ({os.path.basename(binary)}): "
                  f"plain {plain * 1e3:7.1f} ms, access {access * 1e3:7.1f} ms, "
                  f"ratio {access / plain:.3f}x; CPU {plain_cpu * 1e3:7.1f} / "
                  f"{access_cpu * 1e3:7.1f} ms, {access_cpu / plain_cpu:.3f}x")
            # Each round's access run over its plain run (the same build, minutes apart at
            # most): a drift of the machine over the series falls on both, so the spread of
            # these ratios shows how far one series can be trusted.
            pairs = list(zip(times[(binary, "plain", step)], times[(binary, "access", step)]))
            for k, what in ((0, "wall"), (1, "CPU")):
                ratios = sorted(a[k] / p[k] for p, a in pairs)
                q1, q2, q3 = (statistics.quantiles(ratios, n=4) if len(ratios) > 1
                              else ratios * 3)
                print(f"{'':6}     {what:4} per round: median {q2:.3f}x, quartiles "
                      f"{q1:.3f}-{q3:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
