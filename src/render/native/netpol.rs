//! networkpolicies.yaml.j2, in Rust (see the module above for how the two are kept equal).

use std::collections::BTreeSet;

use super::{consumers_name, Chunk, Out};
use crate::intent::{IpBlock, NamespaceIntent, OutsideFlow, PortGroup, Role};
use crate::model::{NamespaceName, Port};

const API: &str = "networking.k8s.io/v1";
const KIND: &str = "NetworkPolicy";

pub(super) fn networkpolicies(out: &mut Out, ns: &NamespaceIntent, chunks: &[Chunk<'_>]) {
    let hbone = ns.mesh.as_ref().filter(|m| m.ambient).map(|m| m.hbone_port);
    out.raw("# Deny everything in and out; the policies below add exactly the flows tenants.toml allows.\n");
    out.header(API, KIND, "default-deny", &ns.name);
    out.raw(concat!(
        "  annotations:\n",
        "    argocd.argoproj.io/sync-options: Delete=false,Prune=false\n",
        "    kustomize.toolkit.fluxcd.io/prune: disabled\n",
        "spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n",
    ));
    if ns.role == Role::Retired {
        return;
    }
    same_owner(out, ns);
    platform(out, ns, hbone);
    if !ns.shared_egress.is_empty() {
        out.raw("---\n# Shared services this ")
            .value(role(ns))
            .raw(" consumes.\n");
        egress_groups(out, ns, "allow-shared-services", &ns.shared_egress, hbone);
    }
    if !ns.exposed_egress.is_empty() {
        out.raw("---\n# Other tenants' namespaces this ")
            .value(role(ns))
            .raw(" consumes ([tenants.<t>.expose.<namespace>]).\n");
        egress_groups(out, ns, "allow-exposed-services", &ns.exposed_egress, hbone);
    }
    if !ns.outside.is_empty() {
        external(out, ns);
    }
    for (index, chunk) in chunks.iter().enumerate() {
        out.consumers_comment(ns, index, chunks.len());
        out.header(API, KIND, &consumers_name(index), &ns.name);
        out.raw(
            "spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  ingress:\n  - from:\n    - ",
        );
        namespaces_named(out, chunk.iter().copied());
        out.raw("\n");
        tcp_ports(out, &ns.consumer_ports, hbone);
    }
}

/// `{{ ns.role }}`, as serde names it.
fn role(ns: &NamespaceIntent) -> &'static str {
    match ns.role {
        Role::Tenant => "tenant",
        Role::Shared => "shared",
        Role::Retired => "retired",
    }
}

fn same_owner(out: &mut Out, ns: &NamespaceIntent) {
    out.raw("---\n");
    out.same_owner_comment(ns, "talk to");
    out.header(API, KIND, "allow-same-tenant", &ns.name);
    out.raw("spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n  ingress:\n  - from:\n    - ");
    namespaces_named(out, ns.same_owner.iter());
    out.raw("\n  egress:\n  - to:\n    - ");
    namespaces_named(out, ns.same_owner.iter());
    out.raw("\n");
}

/// `allow-platform`: DNS, istiod, the ingress controller, monitoring, ambient's probes.
fn platform(out: &mut Out, ns: &NamespaceIntent, hbone: Option<Port>) {
    let sidecar_mesh = ns.mesh.as_ref().filter(|m| !m.ambient);
    out.raw("---\n# Platform flows: DNS");
    if sidecar_mesh.is_some() {
        out.raw(", the mesh control plane");
    }
    if ns.ingress_controller.is_some() {
        out.raw(", the ingress controller");
    }
    if ns.monitoring.is_some() {
        out.raw(", monitoring");
    }
    if hbone.is_some() {
        out.raw(", the kubelet's probes");
    }
    out.raw(".\n");
    out.header(API, KIND, "allow-platform", &ns.name);
    out.raw("spec:\n  podSelector: {}\n  policyTypes:\n");
    let ingress = ns.ingress_controller.is_some() || ns.monitoring.is_some() || hbone.is_some();
    if ingress {
        out.raw("  - Ingress\n");
    }
    out.raw("  - Egress\n");
    if ingress {
        platform_ingress(out, ns, hbone);
    }
    out.raw("  egress:\n  # DNS to the DNS pods' own ports (NetworkPolicy sees them after the Service's DNAT), UDP and TCP.\n  - to:\n    - ");
    pods_in(out, &ns.dns.namespace, ns.dns.pod_labels.iter());
    out.raw("\n");
    dns_ports(out, &ns.dns.ports);
    if !ns.dns.cidrs.is_empty() {
        out.raw("  # Node-local DNS caches ([platform.dns] cidrs), on the same ports.\n  - to:\n");
        for cidr in &ns.dns.cidrs {
            out.raw("    - ipBlock:\n        cidr: ")
                .value(&cidr.to_string())
                .raw("\n");
        }
        dns_ports(out, &ns.dns.ports);
    }
    if let Some(mesh) = sidecar_mesh {
        out.raw(concat!(
            "  # istiod: xDS configuration and workload certificates, TCP 15012\n",
            "  # (https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio).\n",
            "  - to:\n    - ",
        ));
        pods_in(out, &mesh.namespace, mesh.pod_labels.iter());
        out.raw("\n    ports:\n    - protocol: TCP\n      port: ")
            .port(mesh.xds_port)
            .raw("\n");
    }
}

fn platform_ingress(out: &mut Out, ns: &NamespaceIntent, hbone: Option<Port>) {
    out.raw("  ingress:\n");
    if let Some(ingress) = &ns.ingress_controller {
        out.raw("  - from:\n    - ");
        pods_in(out, &ingress.namespace, ingress.pod_labels.iter());
        out.raw("\n");
    }
    if let Some(monitoring) = &ns.monitoring {
        out.raw("  # Scraping.");
        if hbone.is_some() {
            out.raw(" Ambient pods have no sidecar: metrics are on the application's ports.");
        } else if !monitoring.ports.is_empty() {
            out.raw(concat!(
                " With Istio, metrics are merged on the sidecar's port 15020\n",
                "  # (https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio).",
            ));
        } else {
            out.raw(" Every port: with Istio the merged metrics are on 15020, not the application's port.");
        }
        out.raw("\n  - from:\n    - ");
        pods_in(out, &monitoring.namespace, monitoring.pod_labels.iter());
        out.raw("\n");
        tcp_ports(out, &monitoring.ports, hbone);
    }
    if let (Some(_), Some(mesh)) = (hbone, &ns.mesh) {
        out.raw("  # The kubelet's health probes, which ambient mode SNATs to 169.254.7.127.\n  - from:\n    - ipBlock:\n        cidr: ")
            .value(mesh.probe_cidr)
            .raw("\n");
    }
}

/// `allow-shared-services` or `allow-exposed-services`, after its comment.
fn egress_groups(
    out: &mut Out,
    ns: &NamespaceIntent,
    name: &str,
    groups: &[PortGroup],
    hbone: Option<Port>,
) {
    out.header(API, KIND, name, &ns.name);
    out.raw("spec:\n  podSelector: {}\n  policyTypes:\n  - Egress\n  egress:\n");
    for group in groups {
        out.raw("  - to:\n    - ");
        namespaces_named(out, group.namespaces.iter());
        out.raw("\n");
        tcp_ports(out, &group.ports, hbone);
    }
}

/// `allow-external`: destinations outside the cluster.
fn external(out: &mut Out, ns: &NamespaceIntent) {
    out.raw(concat!(
        "---\n",
        "# Destinations outside the cluster. Each ipBlock excepts what it contains of the cluster's own\n",
        "# ranges, the cloud metadata addresses and the Kubernetes API server's endpoints (unless the entry\n",
        "# names one exactly), so that no grant here opens a path into the cluster.\n",
    ));
    out.header(API, KIND, "allow-external", &ns.name);
    out.raw("spec:\n  podSelector: {}\n  policyTypes:\n  - Egress\n  egress:\n");
    for flow in ns.outside.iter() {
        outside_flow(out, flow);
    }
}

fn outside_flow(out: &mut Out, flow: &OutsideFlow) {
    match &flow.rule {
        crate::intent::Rule::KubeApi => {
            out.raw("  # The Kubernetes API server (kube_api = true), on its endpoints' ports after the Service's DNAT.\n");
        }
        rule => {
            out.raw("  # [external.").value(&rule_name(rule)).raw("]");
            if !flow.hosts.is_empty() {
                out.raw(": ").value(&flow.hosts.join(", "));
            }
            out.raw("\n");
        }
    }
    out.raw("  - to:\n");
    for IpBlock { cidr, except } in &flow.blocks {
        out.raw("    - ipBlock:\n        cidr: ")
            .value(&cidr.to_string())
            .raw("\n");
        if !except.is_empty() {
            out.raw("        except:\n");
            for range in except {
                out.raw("        - ").value(&range.to_string()).raw("\n");
            }
        }
    }
    tcp_ports(out, &flow.ports, None);
}

/// `{{ flow.rule.name }}`: the name of an external entry (the only rule with one besides
/// `kube_api`, handled above).
fn rule_name(rule: &crate::intent::Rule) -> String {
    match rule {
        crate::intent::Rule::External { name } => name.to_string(),
        _ => String::new(),
    }
}

/// The `namespaces_named` macro: a namespaceSelector matching these names exactly.
fn namespaces_named<'a>(out: &mut Out, names: impl Iterator<Item = &'a NamespaceName>) {
    out.raw(concat!(
        "namespaceSelector:\n",
        "        matchExpressions:\n",
        "        - key: kubernetes.io/metadata.name\n",
        "          operator: In\n",
        "          values:",
    ));
    for name in names {
        out.raw("\n          - ").value(name.as_str());
    }
}

/// The `pods_in` macro: pods with `pod_labels` (every pod without) in `namespace`.
fn pods_in<'a, K, V>(
    out: &mut Out,
    namespace: &NamespaceName,
    pod_labels: impl Iterator<Item = (&'a K, &'a V)>,
) where
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    out.raw("namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: ")
        .value(namespace.as_str())
        .raw("\n      podSelector:");
    let mut labels = pod_labels.peekable();
    if labels.peek().is_none() {
        out.raw(" {}");
        return;
    }
    out.raw("\n        matchLabels:");
    for (key, value) in labels {
        out.raw("\n          ")
            .value(key.as_ref())
            .raw(": ")
            .value(value.as_ref());
    }
}

/// The `tcp_ports` macro: nothing for every port; else the ports, and in ambient mode HBONE.
fn tcp_ports(out: &mut Out, ports: &BTreeSet<Port>, hbone: Option<Port>) {
    if ports.is_empty() {
        return;
    }
    out.raw("    ports:\n");
    for &port in ports {
        out.raw("    - protocol: TCP\n      port: ")
            .port(port)
            .raw("\n");
    }
    if let Some(hbone) = hbone.filter(|p| !ports.contains(p)) {
        out.raw("    # HBONE: ambient mode tunnels this flow to port 15008.\n    - protocol: TCP\n      port: ")
            .port(hbone)
            .raw("\n");
    }
}

/// The `dns_ports` macro: each port on UDP and TCP.
fn dns_ports(out: &mut Out, ports: &BTreeSet<Port>) {
    out.raw("    ports:\n");
    for &port in ports {
        out.raw("    - protocol: UDP\n      port: ")
            .port(port)
            .raw("\n    - protocol: TCP\n      port: ")
            .port(port)
            .raw("\n");
    }
}
