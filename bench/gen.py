#!/usr/bin/env python3
"""Writes a deterministic synthetic tenants.toml of N tenants for the benchmark.

Every run with the same arguments prints the same bytes (no randomness, no clock). The mix:

- tenant i has 1 namespace; every 3rd has 2 (`<t>`, `<t>-jobs`), every 7th has 3 (`-jobs`, `-api`);
- every tenant has a plan label, every 2nd an owner annotation, every 4th ingress = true;
- 10 shared namespaces: 3 consumed by every tenant (`"*"`), 6 by about a tenth of the tenants each
  (explicit lists that grow with N), 1 by the first three tenants only;
- [cluster], [platform] (dns, ingress, monitoring), [mesh] and [gitops] (Argo CD) are set.

With `--flows` (the default of the benchmark; `--no-flows` gives the config of earlier runs),
the keys of "Flows real tenants need" at scale:
- cluster ranges, a node-local DNS cache, [platform.kube_api]; every 10th tenant has kube_api;
- 3 shared entries limited to port 8443, one of which consumes another and an external;
- externals: one API for every tenant (`"*"`, with a wildcard host), one for every 5th tenant and
  a shared entry, and an address-only database per 100th tenant;
- every 20th tenant exposes its first namespace to the next 3 tenants on 8443, and tenant 0
  exposes `t00000` to every tenant (`"*"`) on 8443;
- tenants with several namespaces and ingress list only their first namespace.

`--clusters N` describes N clusters (`[clusters.c0]` ... with ranges of their own; the odd ones
replace `platform.kube_api`) instead of `[cluster]`; every 50th tenant runs on one cluster only,
the others on every cluster: about N times the single-cluster tree.

`--change label` changes one tenant's label (only that tenant's Namespaces depend on it);
`--change namespace` gives that tenant one more namespace (its directory, and the consumer
policies of the shared namespaces it uses, depend on that).
"""

import argparse
import sys

PLANS = ["gold", "silver", "bronze"]
ALL = ["common-services", "observability-gw", "vault"]
SOME = [f"shared-{k}" for k in range(6)]
FEW = "payments"


def tenant_name(i):
    return f"t{i:05d}"


def namespaces_of(i):
    t = tenant_name(i)
    if i % 7 == 0:
        return [t, f"{t}-jobs", f"{t}-api"]
    if i % 3 == 0:
        return [t, f"{t}-jobs"]
    return [t]


def consumes_some(i, k):
    # A fixed arithmetic mix instead of random numbers: about 1 in 10 tenants per list.
    return (i * 7 + k * 13) % 10 == 0


def changed_tenant(n):
    """A tenant with two namespaces near the middle (the first tenant when N is tiny)."""
    return next((i for i in range(n // 2, -1, -1) if i % 3 == 0 and i % 7), 0)


def extra_namespace(n, changed=None):
    """The namespace `--change namespace` adds."""
    return f"{tenant_name(changed_tenant(n) if changed is None else changed)}-extra"


def generate(n, change=None, changed=None, flows=True, authorization=False, access=False,
             clusters=0):
    if changed is None:
        changed = changed_tenant(n)
    out = []
    w = out.append
    w("# Synthetic tenants.toml for the tenantc benchmark (bench/gen.py). Do not edit.")
    w("version = 1")
    w("")
    if clusters:
        for c in range(clusters):
            w(f"[clusters.c{c}]")
            w(f'pod_cidrs = ["10.{64 + 2 * c}.0.0/16"]')
            w(f'service_cidrs = ["10.{65 + 2 * c}.0.0/16"]')
            w(f'server = "https://c{c}.k8s.example.com"')
            if c % 2:
                w(f"[clusters.c{c}.platform]")
                w(f'kube_api = {{ cidrs = ["172.19.{c}.2/32"], ports = [443] }}')
            w("")
    else:
        w("[cluster]")
        w('name = "bench-1"')
        if flows:
            w('pod_cidrs = ["10.244.0.0/16"]')
            w('service_cidrs = ["10.96.0.0/12"]')
        w("")
    w("[platform]")
    dns_cidrs = ', cidrs = ["169.254.20.10/32"]' if flows else ""
    w('dns = { namespace = "kube-system", service = "kube-dns", '
      f'pod_labels = {{ "k8s-app" = "kube-dns" }}, ports = [53]{dns_cidrs} }}')
    if flows:
        w('kube_api = { cidrs = ["172.18.0.2/32"], ports = [6443] }')
    in_mesh = ", mesh = true" if authorization else ""
    w('ingress = { namespace = "ingress-nginx", '
      f'pod_labels = {{ "app.kubernetes.io/name" = "ingress-nginx" }}{in_mesh} }}')
    w('monitoring = { namespace = "monitoring", '
      'pod_labels = { "app.kubernetes.io/name" = "prometheus" } }')
    w("")
    w("[mesh]")
    w('namespace = "istio-system"')
    w('outbound_traffic_policy = "REGISTRY_ONLY"')
    if authorization:
        w('mtls = "STRICT"')
        w("authorization = true")
    w("")
    if access:
        w("[defaults]")
        w('pod_security = "baseline"')
        w('pod_security_version = "v1.32"')
        w('quota = { "requests.cpu" = "8", "requests.memory" = "32Gi", "limits.memory" = "64Gi", pods = "200" }')
        w('container_defaults = { request = { cpu = "100m", memory = "128Mi" }, limit = { memory = "512Mi" } }')
        w("")
    w("[gitops]")
    w('tool = "argocd"')
    w('repo_url = "https://git.example.com/platform/tenants.git"')
    for name in ALL:
        w("")
        w(f"[shared.{name}]")
        w('consumers = "*"')
    for k, name in enumerate(SOME):
        w("")
        w(f"[shared.{name}]")
        names = [f'"{tenant_name(i)}"' for i in range(n) if consumes_some(i, k)]
        if flows and k == 1:
            names.append(f'"{SOME[0]}"')  # a shared entry consuming another
        w(f"consumers = [{', '.join(names)}]")
        w(f'labels = {{ "example.com/tier" = "{k}" }}')
        if flows and k < 3:
            w("ports = [8443]")
    w("")
    w(f"[shared.{FEW}]")
    w(f"consumers = [{', '.join(chr(34) + tenant_name(i) + chr(34) for i in range(min(n, 3)))}]")
    w("ingress = true")
    if flows:
        w("")
        w("[external.package-mirror]")
        w('hosts = ["pkg.example.com", "*.cdn.example.com"]')
        w('cidrs = ["0.0.0.0/0"]')
        w("ports = [443]")
        w('consumers = "*"')
        w("")
        w("[external.stripe]")
        w('hosts = ["api.stripe.com"]')
        w('cidrs = ["0.0.0.0/0"]')
        w("ports = [443]")
        payers = [f'"{tenant_name(i)}"' for i in range(n) if i % 5 == 0] + [f'"{SOME[1]}"']
        w(f"consumers = [{', '.join(payers)}]")
        for i in range(0, n, 100):
            w("")
            w(f"[external.db-{tenant_name(i)}]")
            w(f'cidrs = ["198.{18 + i // 65536 % 2}.{i // 256 % 256}.{i % 256}/32"]')
            w("ports = [5432]")
            w('protocol = "TCP"')
            w(f'consumers = ["{tenant_name(i)}"]')
    for i in range(n):
        t = tenant_name(i)
        nss = namespaces_of(i)
        plan = PLANS[i % 3]
        if change == "namespace" and i == changed:
            nss = nss + [f"{t}-extra"]
        if change == "label" and i == changed:
            plan = "platinum"
        w("")
        w(f"[tenants.{t}]")
        if nss != [t]:
            w(f"namespaces = [{', '.join(chr(34) + s + chr(34) for s in nss)}]")
        if clusters and i % 50 == 0:
            w(f'clusters = ["c{i // 50 % clusters}"]')
        w(f'labels = {{ "example.com/plan" = "{plan}", "example.com/cost-center" = "cc-{i % 97}" }}')
        if i % 2 == 0:
            w(f'annotations = {{ "example.com/owner" = "team-{t}@example.com" }}')
        if i % 4 == 0:
            if flows and len(nss) > 1:
                w(f'ingress = ["{nss[0]}"]')
            else:
                w("ingress = true")
        if flows and i % 10 == 0:
            w("kube_api = true")
        if access:
            w(f'owners = ["group:{t}-admins", "user:lead-{t}@example.com"]')
            w(f'editors = ["group:{t}-devs", "serviceaccount:ci/deploy-{t}"]')
            w('viewers = ["group:auditors"]')
            if i % 3 == 0:
                w('pod_security = "restricted"')
            if i % 7 == 0:
                w('quota = { "requests.cpu" = "16" }')
        if flows and i == 0:
            w(f"[tenants.{t}.expose.{nss[0]}]")
            w('consumers = "*"')
            w("ports = [8443]")
        elif flows and i % 20 == 0:
            callers = [f'"{tenant_name(j)}"' for j in range(i + 1, min(i + 4, n))]
            if callers:
                w(f"[tenants.{t}.expose.{nss[0]}]")
                w(f"consumers = [{', '.join(callers)}]")
                w("ports = [8443]")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, help="number of tenants")
    p.add_argument("--change", choices=["label", "namespace"], help="change one tenant")
    p.add_argument("--tenant", type=int, help="index of the changed tenant (default: one with 2 namespaces near N/2)")
    p.add_argument("--no-flows", action="store_true", help="the config of the runs before the flow keys")
    p.add_argument("--authorization", action="store_true",
                   help="[mesh] mtls = STRICT and authorization = true (the ingress controller in the mesh)")
    p.add_argument("--access", action="store_true",
                   help="[defaults] pod security, quota and container defaults, and owners, editors and viewers on every tenant")
    p.add_argument("--clusters", type=int, default=0,
                   help="describe this many clusters ([clusters]) instead of one [cluster]")
    a = p.parse_args()
    if a.n < 1:
        p.error("N must be at least 1")
    sys.stdout.write(generate(a.n, a.change, a.tenant, not a.no_flows, a.authorization, a.access,
                              a.clusters))


if __name__ == "__main__":
    main()
