//! Destinations outside the cluster: `[external.<name>]` entries (their addresses, host names,
//! ports and ServiceEntry addresses) and the Kubernetes API server (`[platform.kube_api]`),
//! each checked against the cluster's ranges and the names `explain` and `graph` know.

use std::collections::BTreeSet;

use super::flows::{
    span_of, ConsumerNames, BUILT_IN_DESTINATIONS, DEFAULT_KUBE_API_PORTS, FIND_RANGES,
    MAX_EXTERNAL_NAME, MAX_SERVICEENTRY_ITEMS,
};
use super::Resolver;
use crate::diag::{closest, Diagnostic};
use crate::load::{Located, RawConfig, RawConsumers, RawExternal, RawKubeApi};
use crate::model::{
    Cidr, Cluster, Consumers, DataplaneMode, External, ExternalName, ExternalProtocol, KubeApi,
    Mesh, NamespaceName, Platform, Port, METADATA_CIDRS,
};

impl Resolver<'_> {
    /// `[external.<name>]`.
    pub(super) fn external(
        &mut self,
        raw: &RawExternal,
        cluster: Option<&Cluster>,
        names: &ConsumerNames<'_>,
    ) -> Option<(ExternalName, External)> {
        let owner = format!("external entry `{}`", raw.name.value);
        let name = self.dns_name(
            ExternalName::new,
            &format!("external entry name `{}` is invalid", raw.name.value),
            &raw.name,
        );
        if raw.name.value.len() > MAX_EXTERNAL_NAME {
            self.error(Diagnostic::new(
                format!("external entry name `{}` is {} characters long; at most {MAX_EXTERNAL_NAME} fit its ServiceEntry name `external-<name>`", raw.name.value, raw.name.value.len()),
                raw.name.span.clone(),
            ));
        }
        for (list, what) in [(&names.tenants, "tenant"), (&names.shared, "shared entry")] {
            if list.contains(&raw.name.value.as_str()) {
                self.error(
                    Diagnostic::new(
                        format!("{owner} has the name of a {what}"),
                        raw.name.span.clone(),
                    )
                    .with_help("`explain`, `diff` and `graph` name tenants, shared and external entries alike: give it a name of its own"),
                );
            }
        }
        if let Some(c) = cluster {
            if c.pod_cidrs.is_empty() || c.service_cidrs.is_empty() {
                self.error(
                    Diagnostic::new(
                        format!("{owner} needs the cluster's own ranges: set `pod_cidrs` and `service_cidrs` under [cluster]"),
                        raw.name.span.clone(),
                    )
                    .with_help(format!("tenantc excepts them from every external ipBlock, so that no external grant opens a path into the cluster; {FIND_RANGES}")),
                );
            }
        }
        let cidrs = match &raw.cidrs {
            Some(list) => {
                let cidrs = self.cidrs(list, &format!("{owner} cidrs"), false);
                if let Some(c) = cluster {
                    self.outside_cluster(&cidrs, list, c, &owner);
                }
                if cidrs.len() > MAX_SERVICEENTRY_ITEMS {
                    self.error(Diagnostic::new(
                        format!("{owner} lists {} CIDRs; a ServiceEntry holds at most {MAX_SERVICEENTRY_ITEMS} addresses", cidrs.len()),
                        list.span.clone(),
                    ));
                }
                cidrs
            }
            None => {
                self.error(
                    Diagnostic::new(format!("{owner} needs `cidrs`: where NetworkPolicy lets its traffic go"), raw.name.span.clone())
                        .with_help("list the destination's address ranges, or [\"0.0.0.0/0\"] when only its host names are known (the mesh then limits it to `hosts`)"),
                );
                BTreeSet::new()
            }
        };
        let ports = match &raw.ports {
            Some(list) => self.ports(&list.value, &format!("{owner} ports"), false, &list.span),
            None => {
                self.error(
                    Diagnostic::new(
                        format!("{owner} needs `ports`, the TCP ports its consumers may reach"),
                        raw.name.span.clone(),
                    )
                    .with_help("for example ports = [443]"),
                );
                BTreeSet::new()
            }
        };
        let protocol = match &raw.protocol {
            None => Some(ExternalProtocol::Tls),
            Some(p) => match p.value.as_str() {
                "TLS" => Some(ExternalProtocol::Tls),
                "HTTPS" => Some(ExternalProtocol::Https),
                "HTTP" => Some(ExternalProtocol::Http),
                "TCP" => Some(ExternalProtocol::Tcp),
                other => {
                    let mut d = Diagnostic::new(
                        format!("`protocol` must be \"TLS\", \"HTTPS\", \"HTTP\" or \"TCP\", found {other:?}"),
                        p.span.clone(),
                    );
                    let upper = other.to_ascii_uppercase();
                    if let Some(best) = closest(&upper, ["TLS", "HTTPS", "HTTP", "TCP"]) {
                        d = d.with_help(format!("did you mean \"{best}\"?"));
                    }
                    self.error(d);
                    None
                }
            },
        };
        let hosts = self.hosts(raw, protocol, &owner);
        let consumers = match &raw.consumers {
            Some(RawConsumers::List(l)) if l.is_empty() => {
                self.error(
                    Diagnostic::new(format!("{owner} has no consumer"), raw.name.span.clone())
                        .with_help("list the tenants and shared entries that may reach it, or remove the table"),
                );
                Consumers::Only(BTreeSet::new())
            }
            Some(c) => self.consumers(Some(c), &owner, None, names),
            None => {
                self.error(
                    Diagnostic::new(format!("{owner} needs `consumers`: the tenants and shared entries that may reach it"), raw.name.span.clone())
                        .with_help("for example consumers = [\"acme\"], or \"*\" for every tenant"),
                );
                Consumers::Only(BTreeSet::new())
            }
        };
        Some((
            name?,
            External {
                hosts,
                cidrs,
                ports,
                protocol: protocol?,
                consumers,
            },
        ))
    }

    /// An entry reached by address only is registered in sidecar mode by a ServiceEntry whose
    /// `addresses` are its ipBlocks less their exceptions, which takes more CIDRs than `cidrs`
    /// lists (`0.0.0.0/0` less the cluster's ranges is some forty): it must still fit.
    pub(super) fn service_entry_addresses(
        &mut self,
        raw: &RawExternal,
        e: &External,
        cluster: &Cluster,
        kube_api: Option<&KubeApi>,
        mesh: &Mesh,
    ) {
        if !e.hosts.is_empty() || mesh.mode == DataplaneMode::Ambient {
            return;
        }
        let Some(list) = &raw.cidrs else { return };
        let blocks = crate::intent::external_blocks(e, cluster, kube_api);
        let n = crate::intent::external_addresses(&blocks).len();
        if n > MAX_SERVICEENTRY_ITEMS {
            self.error(
                Diagnostic::new(
                    format!(
                        "external entry `{}` is reached by address only, and its ServiceEntry would list {n} addresses (its cidrs less the cluster's ranges, the metadata addresses and the API server's endpoints inside them); a ServiceEntry holds at most {MAX_SERVICEENTRY_ITEMS}",
                        raw.name.value
                    ),
                    list.span.clone(),
                )
                .with_help("split it into one [external] entry per address family, or list narrower cidrs"),
            );
        }
    }

    /// `[platform.dns] cidrs` and `[platform.kube_api] cidrs` are allowed from every managed
    /// namespace (the API server from every tenant with `kube_api = true`) with no exception,
    /// so none may overlap the cluster's own ranges or a cloud metadata address, either way:
    /// `dns.cidrs = ["10.0.0.0/8"]` would open port 53 of every pod, `kube_api.cidrs =
    /// ["0.0.0.0/0"]` every kubelet.
    pub(super) fn platform_ranges(
        &mut self,
        raw: &RawConfig,
        cluster: &Cluster,
        platform: &Platform,
    ) {
        let metadata: Vec<Cidr> = METADATA_CIDRS
            .iter()
            .filter_map(|m| m.parse().ok())
            .collect();
        let lists = [
            (
                "[platform.dns] cidrs",
                raw.platform.dns.as_ref().and_then(|d| d.cidrs.as_ref()),
                &platform.dns.cidrs,
                "list the node-local DNS caches' own addresses (169.254.20.10/32 by default), which are outside the cluster's ranges; the cluster DNS pods are reached through [platform.dns] `namespace` and `pod_labels`",
            ),
            (
                "[platform.kube_api] cidrs",
                raw.platform.kube_api.as_ref().and_then(|k| k.cidrs.as_ref()),
                &platform.kube_api.as_ref().map(|k| k.cidrs.clone()).unwrap_or_default(),
                "list the API server's endpoints, each as \"<ip>/32\": `kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes` (NetworkPolicy sees them after the Service's DNAT, never the Service's address)",
            ),
        ];
        for (what, list, cidrs, help) in lists {
            let Some(list) = list else { continue };
            for cidr in cidrs {
                let clash = cluster
                    .ranges()
                    .map(|r| (r, "the cluster's range"))
                    .chain(metadata.iter().map(|m| (m, "the cloud metadata address")))
                    .find(|(r, _)| r.contains(cidr) || cidr.contains(*r));
                let Some((range, name)) = clash else { continue };
                let relation = if range.contains(cidr) {
                    "lies inside"
                } else {
                    "contains"
                };
                self.error(
                    Diagnostic::new(
                        format!("{what} allows {cidr}, which {relation} {name} {range}: every pod that may reach it would reach that too"),
                        span_of(list, cidr),
                    )
                    .with_help(help),
                );
            }
        }
    }

    /// An external CIDR equal to or inside an API server endpoint range cannot except it: only
    /// `kube_api = true` reaches the API server. (One that contains an endpoint excepts it.)
    pub(super) fn outside_kube_api(&mut self, raw: &RawExternal, e: &External, kube_api: &KubeApi) {
        let Some(list) = &raw.cidrs else { return };
        for cidr in &e.cidrs {
            let Some(range) = kube_api.cidrs.iter().find(|k| k.contains(cidr)) else {
                continue;
            };
            self.error(
                Diagnostic::new(
                    format!("external entry `{}` allows {cidr}, which lies inside the Kubernetes API server's endpoints {range} ([platform.kube_api] cidrs)", raw.name.value),
                    span_of(list, cidr),
                )
                .with_help("only tenants with `kube_api = true` may reach the API server: set it on those that need it, and remove this CIDR"),
            );
        }
    }

    /// `explain`, `diff` and `graph` look a name up as a tenant, then a namespace, then a
    /// destination outside the cluster: an external entry named like a namespace or a built-in
    /// destination would have them answer about the wrong thing. (Tenant and shared names are
    /// checked in [`Self::external`].)
    pub(super) fn external_names(
        &mut self,
        raw: &RawConfig,
        names: &ConsumerNames<'_>,
        namespaces: &BTreeSet<&str>,
    ) {
        for e in &raw.externals {
            let n = e.name.value.as_str();
            if names.tenants.contains(n) || names.shared.contains(n) {
                continue;
            }
            let what = if let Some((_, what)) = BUILT_IN_DESTINATIONS.iter().find(|(b, _)| *b == n)
            {
                format!("the built-in destination `{n}` ({what})")
            } else if namespaces.contains(n) {
                format!("the namespace `{n}`")
            } else {
                continue;
            };
            self.error(
                Diagnostic::new(
                    format!("external entry `{n}` has the name of {what}"),
                    e.name.span.clone(),
                )
                .with_help("`explain`, `diff` and `graph` name namespaces, tenants and destinations alike: give it a name of its own, such as the service's"),
            );
        }
    }

    /// Refuses an external CIDR inside the cluster's own ranges: it could not be excepted.
    fn outside_cluster(
        &mut self,
        cidrs: &BTreeSet<Cidr>,
        list: &Located<Vec<Located<String>>>,
        cluster: &Cluster,
        owner: &str,
    ) {
        for cidr in cidrs {
            let Some(range) = cluster.ranges().find(|r| r.contains(cidr)) else {
                continue;
            };
            let span = span_of(list, cidr);
            self.error(
                Diagnostic::new(
                    format!("{owner} allows {cidr}, which lies inside the cluster's range {range}"),
                    span,
                )
                .with_help("an external entry is for destinations outside the cluster; to reach another tenant, expose its namespace with [tenants.<t>.expose.<namespace>]"),
            );
        }
    }

    /// An external entry's `hosts`: DNS names, lowercase; `*.domain` only with TLS or TCP, where
    /// Istio can route by SNI or address without resolving the name.
    fn hosts(
        &mut self,
        raw: &RawExternal,
        protocol: Option<ExternalProtocol>,
        owner: &str,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let list = raw.hosts.as_deref().unwrap_or_default();
        if list.len() > MAX_SERVICEENTRY_ITEMS {
            self.error(Diagnostic::new(
                format!(
                    "{owner} lists {} hosts; a ServiceEntry holds at most {MAX_SERVICEENTRY_ITEMS}",
                    list.len()
                ),
                list[MAX_SERVICEENTRY_ITEMS].span.clone(),
            ));
        }
        for h in list {
            let (wildcard, name) = match h.value.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, h.value.as_str()),
            };
            // A DNS name, never an address: its last label (the top-level domain) is not numeric.
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.contains('.')
                && name.parse::<std::net::IpAddr>().is_err()
                && name
                    .rsplit('.')
                    .next()
                    .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
                && name.split('.').all(|p| NamespaceName::new(p).is_ok());
            if !valid {
                let mut d = Diagnostic::new(
                    format!("host {:?} of {owner} is not a DNS name such as \"api.example.com\" or \"*.example.com\"", h.value),
                    h.span.clone(),
                );
                let lower = h.value.to_ascii_lowercase();
                if lower != h.value {
                    d = d.with_help(format!("DNS names are lowercase here: \"{lower}\""));
                } else if h.value.parse::<std::net::IpAddr>().is_ok() {
                    d = d.with_help("put addresses in `cidrs`, not in `hosts`");
                }
                self.error(d);
                continue;
            }
            if wildcard
                && matches!(
                    protocol,
                    Some(ExternalProtocol::Http | ExternalProtocol::Https)
                )
            {
                self.error(
                    Diagnostic::new(
                        format!("wildcard host {:?} of {owner} needs protocol \"TLS\" or \"TCP\"", h.value),
                        h.span.clone(),
                    )
                    .with_help("a wildcard cannot be resolved by DNS: Istio can route it only by the TLS server name (SNI) or by address"),
                );
            }
            if !out.insert(h.value.clone()) {
                self.error(
                    Diagnostic::new(
                        format!("host {:?} is listed twice", h.value),
                        h.span.clone(),
                    )
                    .with_help("remove the duplicate"),
                );
            }
        }
        out
    }

    /// `[platform.kube_api]`.
    pub(super) fn kube_api(&mut self, raw: &RawKubeApi) -> Option<KubeApi> {
        let cidrs = match &raw.cidrs {
            Some(list) => self.cidrs(list, "[platform.kube_api] cidrs", false),
            None => {
                self.error(
                    Diagnostic::new("[platform.kube_api] needs `cidrs`: the API server's endpoints", raw.span.clone())
                        .with_help("list the addresses of `kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes`, each as \"<ip>/32\""),
                );
                return None;
            }
        };
        let ports = match &raw.ports {
            Some(list) => self.ports(&list.value, "[platform.kube_api] ports", false, &list.span),
            None => DEFAULT_KUBE_API_PORTS
                .iter()
                .map(|p| Port::known(*p))
                .collect(),
        };
        Some(KubeApi { cidrs, ports })
    }
}
