//! `[mesh]`: the control plane, the dataplane mode, mTLS and authorization, and the combinations
//! of them with the platform components that cannot work (each an error with help, never a silent
//! outage). The reasons are in docs/mesh.md.

use std::collections::{BTreeMap, BTreeSet};

use super::Resolver;
use crate::diag::{closest, Diagnostic};
use crate::intent::ISTIO_METRICS_PORT;
use crate::load::{Located, RawConfig};
use crate::model::{
    DataplaneMode, LabelValue, Mesh, MtlsMode, NamespaceName, OutboundTrafficPolicy, Platform,
    Shared, Tenant, TenantName,
};

impl Resolver<'_> {
    pub(super) fn mesh(&mut self, raw: &RawConfig) -> Option<Mesh> {
        let m = raw.mesh.as_ref()?;
        let namespace = match &m.namespace {
            Some(ns) => self.namespace("namespace", ns),
            None => NamespaceName::new("istio-system").ok(),
        };
        let pod_labels = match &m.pod_labels {
            Some(map) => self.labels(Some(map), "pod label", &BTreeSet::new()),
            None => super::platform::istiod_labels(),
        };
        let revision = m
            .revision
            .as_ref()
            .and_then(|r| match LabelValue::new(&r.value) {
                Ok(v) if !r.value.is_empty() => Some(v),
                _ => {
                    self.error(Diagnostic::new(
                        format!(
                            "`revision` {:?} is not a valid `istio.io/rev` label value",
                            r.value
                        ),
                        r.span.clone(),
                    ));
                    None
                }
            });
        let outbound_traffic_policy = m.outbound_traffic_policy.as_ref().and_then(|p| {
            self.choice(
                p,
                "outbound_traffic_policy",
                &[
                    ("REGISTRY_ONLY", OutboundTrafficPolicy::RegistryOnly),
                    ("ALLOW_ANY", OutboundTrafficPolicy::AllowAny),
                ],
            )
        });
        let mode = m
            .mode
            .as_ref()
            .and_then(|p| {
                self.choice(
                    p,
                    "mode",
                    &[
                        ("sidecar", DataplaneMode::Sidecar),
                        ("ambient", DataplaneMode::Ambient),
                    ],
                )
            })
            .unwrap_or_default();
        let mtls = m.mtls.as_ref().and_then(|p| {
            self.choice(
                p,
                "mtls",
                &[
                    ("STRICT", MtlsMode::Strict),
                    ("PERMISSIVE", MtlsMode::Permissive),
                ],
            )
        });
        if let (DataplaneMode::Ambient, Some(p)) = (mode, &m.outbound_traffic_policy) {
            self.error(
                Diagnostic::new(
                    "`outbound_traffic_policy` is a Sidecar setting, and `mode = \"ambient\"` has no Sidecars: ztunnel does not filter outbound traffic by the service registry (istio/istio#54281)",
                    p.span.clone(),
                )
                .with_help("remove it, knowingly: in ambient mode only the NetworkPolicies' egress rules limit where a tenant's pods may go, so an [external] entry is then held to its `cidrs`, no longer to its `hosts`"),
            );
        }
        Some(Mesh {
            namespace: namespace?,
            pod_labels,
            revision,
            outbound_traffic_policy,
            mode,
            mtls,
            authorization: m.authorization.as_ref().is_some_and(|a| a.value),
        })
    }

    /// One of a few spellings; otherwise an error with the closest one.
    fn choice<T: Copy>(
        &mut self,
        value: &Located<String>,
        key: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == value.value) {
            return Some(*v);
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
        let mut d = Diagnostic::new(
            format!(
                "`{key}` must be {}, found {:?}",
                names.join(" or "),
                value.value
            ),
            value.span.clone(),
        );
        let guess = value.value.replace('-', "_");
        let lower = guess.to_ascii_lowercase();
        let upper = guess.to_ascii_uppercase();
        if let Some(best) = options
            .iter()
            .find(|(n, _)| *n == lower || *n == upper)
            .map(|(n, _)| *n)
            .or_else(|| closest(&guess, options.iter().map(|(n, _)| *n)))
        {
            d = d.with_help(format!("did you mean \"{best}\"?"));
        }
        self.error(d);
        None
    }

    /// The combinations of `[mesh]` with the platform components that cannot work: a source
    /// outside the mesh has no identity, so STRICT mTLS refuses its connections and no
    /// `source.namespaces` rule can admit it.
    pub(super) fn mesh_platform(
        &mut self,
        raw: &RawConfig,
        mesh: Option<&Mesh>,
        platform: Option<&Platform>,
        tenants: &BTreeMap<TenantName, Tenant>,
        shared: &BTreeMap<NamespaceName, Shared>,
    ) {
        let raw_ingress = raw.platform.ingress.as_ref();
        let raw_monitoring = raw.platform.monitoring.as_ref();
        let Some(mesh) = mesh else {
            for (what, flag) in [
                ("ingress", raw_ingress.and_then(|p| p.mesh.as_ref())),
                ("monitoring", raw_monitoring.and_then(|p| p.mesh.as_ref())),
            ] {
                if let Some(f) = flag.filter(|f| f.value) {
                    self.error(
                        Diagnostic::new(
                            format!("[platform.{what}] sets `mesh = true`, but there is no [mesh]"),
                            f.span.clone(),
                        )
                        .with_help("add a [mesh] table, or remove `mesh = true`"),
                    );
                }
            }
            return;
        };
        let Some(platform) = platform else { return };
        let Some(raw_mesh) = raw.mesh.as_ref() else {
            return;
        };
        let strict = (mesh.mtls == Some(MtlsMode::Strict))
            .then_some(raw_mesh.mtls.as_ref())
            .flatten();
        let authorization = raw_mesh.authorization.as_ref().filter(|a| a.value);
        let ambient = mesh.mode == DataplaneMode::Ambient;

        let ingress_users: Vec<&str> = tenants
            .iter()
            .filter(|(_, t)| !t.ingress.is_empty())
            .map(|(n, _)| n.as_str())
            .chain(
                shared
                    .iter()
                    .filter(|(_, s)| s.ingress)
                    .map(|(n, _)| n.as_str()),
            )
            .collect();
        if let Some(ingress) = &platform.ingress {
            if !ingress.in_mesh && !ingress_users.is_empty() {
                let who = names_text(&ingress_users);
                let help = "put the ingress controller's pods in the mesh (a sidecar, or an ambient namespace) and set `mesh = true` in [platform.ingress]";
                if let Some(s) = strict {
                    self.error(
                        Diagnostic::new(
                            format!("`mtls = \"STRICT\"` refuses the plaintext connections of the ingress controller, which is not in the mesh: {who}, which admit ingress, would be unreachable"),
                            s.span.clone(),
                        )
                        .with_help(format!("{help}, or use mtls = \"PERMISSIVE\"")),
                    );
                }
                if let Some(a) = authorization {
                    self.error(
                        Diagnostic::new(
                            format!("`authorization = true` admits callers by the namespace their mTLS identity proves, and the ingress controller is not in the mesh: no AuthorizationPolicy can admit it, so {who}, which admit ingress, would be unreachable"),
                            a.span.clone(),
                        )
                        .with_help(help),
                    );
                }
            }
        }
        if let Some(monitoring) = &platform.monitoring {
            let scraped = !tenants.is_empty() || !shared.is_empty();
            if !monitoring.pods.in_mesh && scraped {
                // In sidecar mode the agent serves the merged metrics on 15020 outside the
                // inbound chain, so a scraper without identity reaches that port, and only it.
                let other_ports: Vec<String> = monitoring
                    .ports
                    .iter()
                    .filter(|p| **p != ISTIO_METRICS_PORT)
                    .map(ToString::to_string)
                    .collect();
                let broken = if ambient {
                    Some(
                        "in ambient mode ztunnel carries every port of a pod, metrics included"
                            .to_owned(),
                    )
                } else if !other_ports.is_empty() {
                    Some(format!(
                        "only Istio's merged metrics port 15020 bypasses the sidecar, not {}",
                        other_ports.join(", ")
                    ))
                } else {
                    None
                };
                let help = if ambient {
                    "put the scraper in the mesh and set `mesh = true` in [platform.monitoring]"
                } else {
                    "scrape the merged metrics on 15020 (remove `ports`, Istio's metrics merging rewrites the scrape annotations), or put the scraper in the mesh and set `mesh = true` in [platform.monitoring]"
                };
                if let Some(why) = broken {
                    for (key, span) in [
                        ("mtls = \"STRICT\"", strict.map(|s| s.span.clone())),
                        (
                            "authorization = true",
                            authorization.map(|a| a.span.clone()),
                        ),
                    ] {
                        if let Some(span) = span {
                            self.error(
                                Diagnostic::new(
                                    format!("`{key}` would stop the scraper, which is not in the mesh: {why}"),
                                    span,
                                )
                                .with_help(help),
                            );
                        }
                    }
                }
            }
        }
    }
}

const AMBIENT_PORTS_HELP: &str = "ztunnel delivers HBONE (15008) to any port of the destination pod, so NetworkPolicy cannot limit ports in ambient mode; ztunnel enforces ports only through AuthorizationPolicies: set `authorization = true` under [mesh], or drop `ports`";

impl Resolver<'_> {
    /// In ambient mode a flow between meshed pods reaches the callee's pod on HBONE port 15008,
    /// and ztunnel hands it to whatever port the tunnel names: a NetworkPolicy limited to some
    /// ports (plus 15008) limits nothing
    /// (https://istio.io/latest/docs/ambient/usage/networkpolicy/). Only an AuthorizationPolicy
    /// makes ztunnel hold the flow to its ports, so a port limit without `authorization = true`
    /// is an error at the limit.
    pub(super) fn ambient_port_limits(&mut self, raw: &RawConfig, mesh: Option<&Mesh>) {
        if !mesh.is_some_and(|m| m.mode == DataplaneMode::Ambient && !m.authorization) {
            return;
        }
        let mode_line = raw
            .mesh
            .as_ref()
            .and_then(|r| r.mode.as_ref())
            .map_or(0, |mode| self.line(&mode.span));
        let cause = format!(
            "`mode = \"ambient\"` under [mesh] (line {mode_line}) cannot enforce it without `authorization = true`"
        );
        let mut limits: Vec<(String, std::ops::Range<usize>)> = Vec::new();
        for s in raw
            .shared
            .iter()
            .filter(|s| !s.retired.as_ref().is_some_and(|r| r.value))
        {
            if let Some(list) = s.ports.as_ref().filter(|l| !l.value.is_empty()) {
                limits.push((
                    format!(
                        "shared entry `{}` limits its consumers to {}",
                        s.name.value,
                        ports_text(&list.value)
                    ),
                    list.span.clone(),
                ));
            }
        }
        for t in &raw.tenants {
            for e in &t.expose {
                if let Some(list) = e.ports.as_ref().filter(|l| !l.value.is_empty()) {
                    limits.push((
                        format!(
                            "[tenants.{}.expose.{}] limits its consumers to {}",
                            t.name.value,
                            e.namespace.value,
                            ports_text(&list.value)
                        ),
                        list.span.clone(),
                    ));
                }
            }
        }
        // A scraper in the mesh reaches the pods over HBONE like any meshed caller. One outside
        // the mesh sends plaintext to the scrape port itself, which NetworkPolicy sees and
        // limits, so its `ports` hold without authorization.
        if let Some(mon) = raw.platform.monitoring.as_ref() {
            let in_mesh = mon.mesh.as_ref().is_some_and(|b| b.value);
            if let (true, Some([first, .., last] | [first @ last])) =
                (in_mesh, mon.ports.as_deref())
            {
                limits.push((
                    format!(
                        "[platform.monitoring] (in the mesh) limits the scraper to {}",
                        ports_text(mon.ports.as_deref().unwrap_or_default())
                    ),
                    first.span.start..last.span.end,
                ));
            }
        }
        for (what, span) in limits {
            self.error(
                Diagnostic::new(format!("{what}, but {cause}"), span).with_help(AMBIENT_PORTS_HELP),
            );
        }
    }
}

/// `port 8443`, `ports 9090, 9091`.
fn ports_text(ports: &[Located<i64>]) -> String {
    let list: Vec<String> = ports.iter().map(|p| p.value.to_string()).collect();
    match list.len() {
        1 => format!("port {}", list[0]),
        _ => format!("ports {}", list.join(", ")),
    }
}

/// `acme`, `acme and globex`, `a, b, c and 4 more`.
fn names_text(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(3).copied().collect();
    let rest = names.len() - shown.len();
    match (shown.split_last(), rest) {
        (Some((last, [])), 0) => (*last).to_owned(),
        (Some((last, init)), 0) => format!("{} and {last}", init.join(", ")),
        (_, rest) => format!("{} and {rest} more", shown.join(", ")),
    }
}
