//! The Istio templates in Rust: sidecar, serviceentries, authorizationpolicies and
//! peerauthentication.yaml.j2 (see the module above for how each is kept equal to its template).

use std::collections::BTreeSet;

use super::{consumers_name, Chunk, Out};
use crate::intent::NamespaceIntent;
use crate::model::{NamespaceName, Port};

const NETWORKING: &str = "networking.istio.io/v1";
const SECURITY: &str = "security.istio.io/v1";
const AUTHZ: &str = "AuthorizationPolicy";

/// sidecar.yaml.j2 (rendered only with `[mesh]`).
pub(super) fn sidecar(out: &mut Out, ns: &NamespaceIntent) {
    let Some(mesh) = &ns.mesh else { return };
    out.header(NETWORKING, "Sidecar", "default", &ns.name);
    for (index, se) in ns.service_entries.iter().enumerate() {
        if index == 0 {
            out.raw("# Reaches outside the cluster through its own ServiceEntries:\n");
        }
        out.raw("#   ")
            .value(&se.name)
            .raw(": ")
            .value(&se.hosts.join(", "));
        if se.resolution == "NONE" && se.addresses.is_empty() {
            out.raw(" (wildcard: routed by TLS server name, not resolved)");
        }
        out.raw("\n");
    }
    out.raw("spec:\n  egress:\n  - hosts:\n");
    for host in &mesh.hosts {
        out.raw("    - ").value(host).raw("\n");
    }
    if let Some(policy) = mesh.outbound_traffic_policy {
        out.raw("  outboundTrafficPolicy:\n    mode: ")
            .value(policy.as_str())
            .raw("\n");
    }
}

/// serviceentries.yaml.j2
pub(super) fn serviceentries(out: &mut Out, ns: &NamespaceIntent) {
    for (index, se) in ns.service_entries.iter().enumerate() {
        if index > 0 {
            out.raw("---\n");
        }
        out.raw("# Registry entry for ").raw(&se.purpose).raw(".\n");
        out.header(NETWORKING, "ServiceEntry", &se.name, &ns.name);
        out.raw("spec:\n  hosts:\n");
        for host in &se.hosts {
            out.raw("  - ").value(host).raw("\n");
        }
        if !se.addresses.is_empty() {
            out.raw("  addresses:\n");
            for address in &se.addresses {
                out.raw("  - ").value(&address.to_string()).raw("\n");
            }
        }
        out.raw("  ports:\n");
        for port in &se.ports {
            out.raw("  - number: ")
                .port(port.number)
                .raw("\n    name: ")
                .value(&port.name)
                .raw("\n    protocol: ")
                .value(port.protocol)
                .raw("\n");
        }
        out.raw("  location: MESH_EXTERNAL\n  resolution: ")
            .value(se.resolution)
            .raw("\n  exportTo:\n  - \".\"\n");
    }
}

/// peerauthentication.yaml.j2 (rendered only with `[mesh] mtls`).
pub(super) fn peerauthentication(out: &mut Out, ns: &NamespaceIntent) {
    let Some(mode) = ns.mesh.as_ref().and_then(|m| m.mtls) else {
        return;
    };
    out.header(SECURITY, "PeerAuthentication", "default", &ns.name);
    out.raw("spec:\n  mtls:\n    mode: ").value(mode).raw("\n");
}

/// authorizationpolicies.yaml.j2 (rendered only with `[mesh] authorization = true`).
pub(super) fn authorizationpolicies(out: &mut Out, ns: &NamespaceIntent, chunks: &[Chunk<'_>]) {
    out.raw(concat!(
        "# Deny by default: an ALLOW policy that matches nothing. The policies below add exactly the callers\n",
        "# tenants.toml lets in.\n",
    ));
    out.header(SECURITY, AUTHZ, "allow-nothing", &ns.name);
    out.raw("spec: {}\n---\n");
    out.same_owner_comment(ns, "call");
    out.header(SECURITY, AUTHZ, "allow-same-tenant", &ns.name);
    out.raw("spec:\n  action: ALLOW\n  rules:\n");
    from_namespaces(out, ns.same_owner.iter());
    platform(out, ns);
    for (index, chunk) in chunks.iter().enumerate() {
        out.consumers_comment(ns, index, chunks.len());
        out.header(SECURITY, AUTHZ, &consumers_name(index), &ns.name);
        out.raw("spec:\n  action: ALLOW\n  rules:\n");
        from_namespaces(out, chunk.iter().copied());
        to_ports(out, &ns.consumer_ports);
    }
}

/// `allow-platform`: the ingress controller and monitoring, when they are in the mesh.
fn platform(out: &mut Out, ns: &NamespaceIntent) {
    let ingress = ns.ingress_controller.as_ref().filter(|i| i.in_mesh);
    let monitoring = ns.monitoring.as_ref().filter(|m| m.in_mesh);
    if ingress.is_none() && monitoring.is_none() {
        return;
    }
    out.raw("---\n# Platform components in the mesh:");
    if ingress.is_some() {
        out.raw(" the ingress controller");
    }
    if ingress.is_some() && monitoring.is_some() {
        out.raw(" and");
    }
    if monitoring.is_some() {
        out.raw(" monitoring");
    }
    out.raw(".\n");
    out.header(SECURITY, AUTHZ, "allow-platform", &ns.name);
    out.raw("spec:\n  action: ALLOW\n  rules:\n");
    if let Some(ingress) = ingress {
        from_namespaces(out, std::iter::once(&ingress.namespace));
    }
    if let Some(monitoring) = monitoring {
        from_namespaces(out, std::iter::once(&monitoring.namespace));
        to_ports(out, &monitoring.ports);
    }
}

/// The `from_namespaces` macro, and the line it ends.
fn from_namespaces<'a>(out: &mut Out, names: impl Iterator<Item = &'a NamespaceName>) {
    out.raw("  - from:\n    - source:\n        namespaces:");
    for name in names {
        out.raw("\n        - ").value(name.as_str());
    }
    out.raw("\n");
}

/// The `to_ports` macro: nothing for every port. Ports are strings, as the CRD wants.
fn to_ports(out: &mut Out, ports: &BTreeSet<Port>) {
    if ports.is_empty() {
        return;
    }
    out.raw("    to:\n    - operation:\n        ports:\n");
    for &port in ports {
        out.raw("        - \"").port(port).raw("\"\n");
    }
}
