#!/usr/bin/env python3
"""The tenantc benchmark: compile, recompile, --check and verify of synthetic tenants.toml files of
N tenants, with `cp -r` and `kubectl kustomize` of the produced tree as references.

Run it through bench/run.sh, which builds the release binary first. Prints a markdown report and
writes it to target/bench/report.md. Wall times are the best of --repeat runs (the machine is
shared and noisy); peak memory is the maximum resident set size the kernel reports for the process
(`/usr/bin/time -v`, or wait4(2) when that is missing).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen  # noqa: E402

GNU_TIME = "/usr/bin/time"


class Run:
    def __init__(self, wall, rss_kib, code, out, cpu=None):
        self.wall, self.rss_kib, self.code, self.out, self.cpu = wall, rss_kib, code, out, cpu


def run(cmd, timeout=None, stdout=subprocess.PIPE, expected=()):
    """Runs `cmd`; returns wall seconds, peak RSS in KiB, exit code and stdout. Its stderr is
    shown when it fails, unless the exit code is one of `expected`."""
    keep = stdout is subprocess.PIPE
    out_path, err_path, time_path = WORK / ".stdout", WORK / ".stderr", WORK / ".time"
    gnu = os.path.exists(GNU_TIME)
    full = [GNU_TIME, "-v", "-o", str(time_path)] + cmd if gnu else cmd
    with open(out_path if keep else os.devnull, "wb") as sink, open(err_path, "wb") as err:
        start = time.perf_counter()
        p = subprocess.Popen(full, stdout=sink, stderr=err)
        deadline = None if timeout is None else start + timeout
        # Reap the child ourselves: wait4(2) gives its own peak RSS, as GNU time does.
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                p.kill()
                os.wait4(p.pid, 0)
                return Run(None, None, "timeout", "")
            time.sleep(0.002)
        wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if gnu:
        text = time_path.read_text()
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
        m = re.search(r"Exit status: (\d+)", text)
        code = int(m.group(1)) if m else p.returncode
        cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", text).group(1))
                  for k in ("User", "System"))
    else:
        rss, code = usage.ru_maxrss, p.returncode
        cpu = usage.ru_utime + usage.ru_stime
    if code != 0 and code not in expected:
        sys.stderr.write(err_path.read_text(errors="replace")[-2000:])
    out = out_path.read_text(errors="replace") if keep else ""
    return Run(wall, rss, code, out, cpu)


def best(cmd, repeat, prepare=None, **kw):
    """The fastest of `repeat` runs (peak RSS: the largest seen)."""
    runs = []
    for _ in range(repeat):
        if prepare:
            prepare()
        runs.append(run(cmd, **kw))
    return fastest(runs)


def fastest(runs):
    good = [r for r in runs if r.wall is not None]
    if not good:
        return runs[0]
    r = min(good, key=lambda r: r.wall)
    r.rss_kib = max(x.rss_kib for x in good)
    return r


def snapshot(root):
    """path -> (inode, mtime_ns, size): a file that was rewritten (renamed over) changes inode."""
    snap = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            st = os.lstat(p)
            snap[p] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return snap


def rewritten(before, after):
    changed = sum(1 for p, s in after.items() if before.get(p) != s)
    removed = sum(1 for p in before if p not in after)
    return changed + removed


DOC_SPLIT = re.compile(r"^---\s*$", re.M)


def tree_stats(root):
    """Files, bytes, largest document, and NetworkPolicies per namespace, read from the YAML."""
    files = total = 0
    largest = (0, "")
    largest_file = (0, "")
    policies = {}
    tenant_ns = set()
    for dirpath, _, names in os.walk(root):
        for f in names:
            p = os.path.join(dirpath, f)
            data = Path(p).read_text()
            files += 1
            size = len(data.encode())
            total += size
            if size > largest_file[0]:
                largest_file = (size, os.path.relpath(p, root))
            for doc in DOC_SPLIT.split(data):
                kind = re.search(r"^kind: *(\S+)", doc, re.M)
                # A Kustomization is read by kustomize, never stored in the cluster: it is no object.
                if not kind or kind.group(1) == "Kustomization":
                    continue
                size = len(doc.encode())
                name = re.search(r"^  name: *(\S+)", doc, re.M)
                ns = re.search(r"^  namespace: *(\S+)", doc, re.M)
                label = f"{kind.group(1)} {ns.group(1) + '/' if ns else ''}{name.group(1) if name else '?'}"
                if size > largest[0]:
                    largest = (size, label)
                if kind.group(1) == "NetworkPolicy" and ns:
                    policies[ns.group(1)] = policies.get(ns.group(1), 0) + 1
                if kind.group(1) == "Namespace" and "tenantc.dev/tenant:" in doc and name:
                    tenant_ns.add(name.group(1))
    t = [c for n, c in policies.items() if n in tenant_ns]
    s = [c for n, c in policies.items() if n not in tenant_ns]
    return {
        "files": files,
        "bytes": total,
        "largest": largest,
        "largest_file": largest_file,
        "namespaces": len(policies),
        "np_tenant": (min(t), max(t)) if t else (0, 0),
        "np_shared": (min(s), max(s)) if s else (0, 0),
    }


def remove(path):
    """`rm -rf`: much faster than shutil.rmtree on tens of thousands of files."""
    if Path(path).exists():
        subprocess.run(["rm", "-rf", "--", str(path)], check=True)


def dir_bytes(d):
    return sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())


def largest_dir(parent):
    dirs = [d for d in Path(parent).iterdir() if d.is_dir()] if Path(parent).is_dir() else []
    return max(dirs, key=dir_bytes) if dirs else None


def has_verify(binary):
    return subprocess.run([binary, "verify", "--help"], capture_output=True).returncode == 0


def bench(n, args, binary, verify):
    d = WORK / f"n{n}"
    remove(d)
    d.mkdir(parents=True)
    cfg, out = d / "tenants.toml", d / "output"
    base = gen.generate(n, flows=args.flows, authorization=args.authorization, access=args.access,
                        clusters=args.clusters)
    cfg.write_text(base)
    compile_cmd = [binary, "--quiet", "compile", "--config", str(cfg), "--output", str(out)]
    res = {"n": n}

    def clean():
        remove(out)

    copy = d / "copy"

    def rm_copy():
        remove(copy)

    # The fresh compile and its floor, `cp -r` of the same tree, alternate so that both see the
    # same load on a shared machine; their ratio is what the target is about.
    fresh, cp = [], []
    for _ in range(args.repeat):
        clean()
        fresh.append(run(compile_cmd))
        check(fresh[-1], "fresh compile")
        rm_copy()
        cp.append(run(["cp", "-r", str(out), str(copy)]))
    rm_copy()
    res["fresh"], res["cp"] = fastest(fresh), fastest(cp)
    res.update(tree_stats(out))

    before = snapshot(out)
    r = best(compile_cmd, args.repeat)
    res["noop"] = r
    res["noop_rewritten"] = rewritten(before, snapshot(out))

    # The floor of a no-op compile or --check: listing and reading every file of the tree, on
    # both cores, and nothing else.
    res["read"] = best(["sh", "-c", f"find '{out}' -type f -print0 | xargs -0 -P2 -n 2000 cat > /dev/null"],
                       args.repeat)

    r = best(compile_cmd[:3] + compile_cmd[3:] + ["--check"], args.repeat)
    check(r, "--check")
    res["check"] = r

    for change in ("label", "namespace"):
        changed = gen.generate(n, change, flows=args.flows, authorization=args.authorization,
                               access=args.access, clusters=args.clusters)
        samples, files = [], set()
        r_best = None
        # Change, then change back: both are one-tenant changes. Taking the added namespace away
        # again is a deletion, which tenantc refuses unless tenants.toml acknowledges it.
        acknowledged = base + f'\n[purged]\nnamespaces = ["{gen.extra_namespace(n)}"]\n'
        for text in [changed, base]:
            cfg.write_text(text)
            before = snapshot(out)
            taking_back = change == "namespace" and text is base
            r = run(compile_cmd, expected=(1,) if taking_back else ())
            if r.code == 1 and taking_back:
                # A tenantc that guards deletions (exit 1, nothing written): acknowledge it.
                cfg.write_text(acknowledged)
                r = run(compile_cmd)
            check(r, f"compile after a {change} change")
            files.add(rewritten(before, snapshot(out)))
            samples.append(r.wall)
            if r_best is None or r.wall < r_best.wall:
                r_best = r
        r_best.rss_kib = r_best.rss_kib
        res[f"change_{change}"] = r_best
        res[f"change_{change}_files"] = (min(files), max(files))
    cfg.write_text(base)

    if verify:
        r = best([binary, "--quiet", "verify", "--config", str(cfg), "--output", str(out)], args.repeat)
        res["verify"] = r

    if n <= args.kustomize_max and shutil.which("kubectl"):
        res["kust_all"] = run(["kubectl", "kustomize", str(out)], timeout=args.kustomize_timeout,
                              stdout=subprocess.DEVNULL)
    gitops = out / "gitops"
    if gitops.is_dir() and shutil.which("kubectl"):
        # What the root Argo CD Application or Flux Kustomization over gitops/ builds on every
        # sync: the root and one object per group, at every N.
        res["kust_gitops"] = run(["kubectl", "kustomize", str(gitops)],
                                 timeout=args.kustomize_timeout, stdout=subprocess.DEVNULL)
    for kind, parent in (("tenants", out / "tenants"), ("shared", out / "shared"),
                         ("group", gitops / "groups")):
        ld = largest_dir(parent)
        if ld is not None and shutil.which("kubectl"):
            r = best(["kubectl", "kustomize", str(ld)], args.repeat, stdout=subprocess.DEVNULL)
            res[f"kust_{kind}"] = (r, ld.name, sum(1 for _ in ld.rglob("*.yaml")))
    if not args.keep:
        remove(d)
    return res


def check(r, what):
    if r.code != 0:
        sys.exit(f"bench: {what} failed (exit {r.code})")


def secs(r):
    if r is None:
        return "n/a"
    if r.wall is None:
        return "timeout"
    return f"{r.wall:.3f} s" if r.wall < 10 else f"{r.wall:.1f} s"


def timed(r):
    """Wall time, CPU time (user + system, all threads) and peak memory of a run."""
    if r is None or r.wall is None:
        return secs(r)
    cpu = f", CPU {r.cpu:.2f} s" if r.cpu is not None else ""
    return f"{secs(r)}{cpu}, {mib(r)}"


def mib(r):
    return "n/a" if r is None or r.rss_kib is None else f"{r.rss_kib / 1024:.0f} MiB"


def ratio(a, b):
    if a is None or b is None or a.wall is None or b.wall is None or b.wall == 0:
        return "n/a"
    return f"{a.wall / b.wall:.2f}"


def report(results, args, verify):
    cols = [r["n"] for r in results]
    rows = []

    def row(label, f):
        rows.append((label, [f(r) for r in results]))

    row("namespaces", lambda r: f"{r['namespaces']:,}")
    row("files / bytes", lambda r: f"{r['files']:,} / {r['bytes'] / 1e6:.2f} MB")
    row("largest file", lambda r: f"{r['largest_file'][0] / 1024:.1f} KiB (`{r['largest_file'][1]}`)")
    row("largest object", lambda r: f"{r['largest'][0] / 1024:.1f} KiB ({r['largest'][1]})")
    row("NetworkPolicies per namespace (tenant / shared)",
        lambda r: f"{r['np_tenant'][0]}–{r['np_tenant'][1]} / {r['np_shared'][0]}–{r['np_shared'][1]}")
    row("**fresh compile** (empty dir)", lambda r: timed(r["fresh"]))
    row("`cp -r` of the tree", lambda r: f"{secs(r['cp'])}")
    row("fresh compile / `cp -r`", lambda r: ratio(r["fresh"], r["cp"]))
    row("**no-op recompile** (files rewritten)",
        lambda r: f"{timed(r['noop'])} ({r['noop_rewritten']})")
    row("reading every file (`find | xargs -P2 cat`)", lambda r: secs(r["read"]))
    row("no-op recompile / reading every file", lambda r: ratio(r["noop"], r["read"]))
    row("**one tenant's label changed** (files rewritten)",
        lambda r: f"{timed(r['change_label'])} ({fmt_range(r['change_label_files'])})")
    row("**one tenant gains a namespace** (files rewritten)",
        lambda r: f"{timed(r['change_namespace'])} ({fmt_range(r['change_namespace_files'])})")
    row("one tenant changed / no-op recompile (label; namespace)",
        lambda r: f"{ratio(r['change_label'], r['noop'])}; {ratio(r['change_namespace'], r['noop'])}")
    row("**`--check`** (up to date)", lambda r: timed(r["check"]))
    row("`--check` / reading every file", lambda r: ratio(r["check"], r["read"]))
    row("**`verify`**", lambda r: timed(r.get("verify")) if verify else "not built")
    row("`kubectl kustomize output/` (whole tree)",
        lambda r: f"{secs(r['kust_all'])}, {mib(r['kust_all'])}" if "kust_all" in r else "skipped")
    row("`kubectl kustomize output/gitops/` (the root GitOps app: root and group objects)",
        lambda r: f"{secs(r['kust_gitops'])}, {mib(r['kust_gitops'])}" if "kust_gitops" in r else "n/a")
    row("`kubectl kustomize` largest tenant dir",
        lambda r: kust(r.get("kust_tenants")))
    row("`kubectl kustomize` largest shared dir",
        lambda r: kust(r.get("kust_shared")))
    row("`kubectl kustomize` largest GitOps group (`gitops/groups/<g>`)",
        lambda r: kust(r.get("kust_group")))
    row("fresh compile per tenant", lambda r: f"{r['fresh'].wall / r['n'] * 1e6:.0f} µs")
    row("bytes per tenant", lambda r: f"{r['bytes'] / r['n'] / 1024:.1f} KiB")

    head = "| N tenants | " + " | ".join(f"{c:,}" for c in cols) + " |"
    sep = "|---|" + "---|" * len(cols)
    body = "\n".join(f"| {label} | " + " | ".join(vals) + " |" for label, vals in rows)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    meta = (
        f"Machine: {os.cpu_count()} cores, {mem:.1f} GiB memory; load average at the end "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"best of {args.repeat} runs; peak memory = max RSS; kustomize timeout {args.kustomize_timeout} s."
    )
    return f"{meta}\n\n{head}\n{sep}\n{body}\n"


def fmt_range(t):
    return str(t[0]) if t[0] == t[1] else f"{t[0]}–{t[1]}"


def kust(k):
    if not k:
        return "n/a"
    r, name, files = k
    return f"{secs(r)}, {mib(r)} (`{name}`, {files} files)"


def main():
    global WORK
    p = argparse.ArgumentParser(description="tenantc benchmark (see bench/run.sh)")
    p.add_argument("--sizes", default="10,100,300,1000,10000", help="comma-separated N (default %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    p.add_argument("--kustomize-max", type=int, default=1000,
                   help="build the whole tree and gitops/ with kubectl kustomize up to this N "
                   "(default %(default)s)")
    p.add_argument("--kustomize-timeout", type=int, default=180, help="seconds (default %(default)s)")
    p.add_argument("--bin", default=str(HERE.parent / "target" / "release" / "tenantc"))
    p.add_argument("--work", default=str(HERE.parent / "target" / "bench"))
    p.add_argument("--keep", action="store_true", help="keep the generated trees under --work")
    p.add_argument("--no-flows", dest="flows", action="store_false",
                   help="the synthetic config without the flow keys (as in runs before them)")
    p.add_argument("--authorization", action="store_true",
                   help="[mesh] mtls = STRICT and authorization = true: AuthorizationPolicies and "
                   "PeerAuthentications in every namespace")
    p.add_argument("--clusters", type=int, default=0,
                   help="N tenants on each of this many clusters ([clusters]; bench/gen.py --clusters)")
    p.add_argument("--access", action="store_true",
                   help="[defaults] pod security, quota and container defaults, and owners, editors "
                   "and viewers on every tenant: five more objects in every namespace.yaml (issue 21)")
    args = p.parse_args()
    WORK = Path(args.work)
    WORK.mkdir(parents=True, exist_ok=True)
    binary = str(Path(args.bin).resolve())
    verify = has_verify(binary)
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        t0 = time.perf_counter()
        results.append(bench(n, args, binary, verify))
        print(f"bench: N={n} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    text = report(results, args, verify)
    (WORK / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
