//! The flows real tenants need: external destinations, the Kubernetes API, exposed namespaces,
//! port limits, and the cluster ranges every grant outside the cluster is checked against.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::Resolver;
use crate::diag::{closest, Diagnostic};
use crate::load::{
    Located, RawConfig, RawConsumers, RawExpose, RawExternal, RawIngress, RawKubeApi,
};
use crate::model::{
    Cidr, Cluster, Consumer, Consumers, DataplaneMode, Expose, External, ExternalName,
    ExternalProtocol, KubeApi, Mesh, NamespaceName, Platform, Port, TenantName, METADATA_CIDRS,
};

/// An external entry names its ServiceEntry `external-<name>`, which must stay a 63-character label.
pub const MAX_EXTERNAL_NAME: usize = 63 - "external-".len();
/// ServiceEntry's `hosts` and `addresses` hold at most 256 items (Istio's CRD).
const MAX_SERVICEENTRY_ITEMS: usize = 256;
/// The Kubernetes API server's ports when `[platform.kube_api]` does not list them: 443 (managed
/// clusters) and 6443 (kubeadm).
pub const DEFAULT_KUBE_API_PORTS: [u16; 2] = [443, 6443];

const FIND_RANGES: &str = "find them with `kubectl cluster-info dump | grep -m2 -E -- '--(cluster-cidr|service-cluster-ip-range)'`, or in your provider's cluster settings (EKS: the VPC CIDR and `kubernetes_network_config.service_ipv4_cidr`; GKE: `clusterIpv4Cidr` and `servicesIpv4Cidr`)";

/// Destinations `explain` and `graph` know by a name of their own, which no external entry may
/// take: [`crate::intent::KUBE_API_TARGET`], and `dns` for the cluster DNS.
const BUILT_IN_DESTINATIONS: [(&str, &str); 2] = [
    (crate::intent::KUBE_API_TARGET, "the Kubernetes API server"),
    ("dns", "the cluster DNS"),
];

/// The names a `consumers` list may use: every tenant and shared entry, by its name in the file.
pub struct ConsumerNames<'a> {
    /// Sets, not lists: a `consumers` list of 10,000 names is looked up name by name.
    pub tenants: BTreeSet<&'a str>,
    pub shared: BTreeSet<&'a str>,
}

impl Resolver<'_> {
    /// A list of CIDRs, each parsed and canonical (`10.0.0.1/8` → help: `10.0.0.0/8`).
    pub(super) fn cidrs(
        &mut self,
        list: &Located<Vec<Located<String>>>,
        what: &str,
        allow_empty: bool,
    ) -> BTreeSet<Cidr> {
        if list.value.is_empty() && !allow_empty {
            self.error(Diagnostic::new(
                format!("{what} must list at least one CIDR"),
                list.span.clone(),
            ));
        }
        let mut out = BTreeSet::new();
        for c in &list.value {
            let Some(cidr) = self.cidr(c, what) else {
                continue;
            };
            if !out.insert(cidr) {
                self.error(
                    Diagnostic::new(format!("{cidr} is listed twice in {what}"), c.span.clone())
                        .with_help("remove the duplicate"),
                );
            }
        }
        out
    }

    fn cidr(&mut self, c: &Located<String>, what: &str) -> Option<Cidr> {
        match c.value.parse::<Cidr>() {
            Ok(Cidr::V6(net))
                if net.prefix_len() >= 96 && net.network().to_ipv4_mapped().is_some() =>
            {
                // `::ffff:a.b.c.d` is an IPv4 address in IPv6 clothing: refused rather than
                // normalised, so that what the output says is what the file says, and so that no
                // CNI has to decide whether an IPv6 ipBlock matches IPv4 packets.
                let v4 = net.network().to_ipv4_mapped().map(|a| {
                    ipnet::Ipv4Net::new(a, net.prefix_len() - 96)
                        .map_or_else(|_| a.to_string(), |n| n.trunc().to_string())
                });
                let mut d = Diagnostic::new(
                    format!("{:?} in {what} is an IPv4-mapped IPv6 range: it names IPv4 addresses, which tenantc checks and writes in their IPv4 form", c.value),
                    c.span.clone(),
                );
                if let Some(v4) = v4 {
                    d = d.with_help(format!("write \"{v4}\""));
                }
                self.error(d);
                None
            }
            Ok(net) if net.trunc() == net => Some(net),
            Ok(net) => {
                self.error(
                    Diagnostic::new(
                        format!(
                            "{:?} in {what} is not a canonical CIDR: bits are set after the /{} prefix",
                            c.value,
                            net.prefix_len()
                        ),
                        c.span.clone(),
                    )
                    .with_help(format!("did you mean \"{}\"?", net.trunc())),
                );
                None
            }
            Err(_) => {
                let mut d = Diagnostic::new(
                    format!(
                        "{:?} in {what} is not a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\"",
                        c.value
                    ),
                    c.span.clone(),
                );
                if let Ok(ip) = c.value.parse::<std::net::IpAddr>() {
                    let bits = if ip.is_ipv4() { 32 } else { 128 };
                    d = d.with_help(format!("for one address write \"{ip}/{bits}\""));
                }
                self.error(d);
                None
            }
        }
    }

    /// A `ports` list that may be left out (every port) but not given empty.
    pub(super) fn port_limit(
        &mut self,
        ports: Option<&Located<Vec<Located<i64>>>>,
        what: &str,
    ) -> BTreeSet<Port> {
        match ports {
            None => BTreeSet::new(),
            Some(list) => {
                let out = self.ports(&list.value, what, false, &list.span);
                if list.value.is_empty() {
                    // `ports()` reported it; say how to mean "every port".
                    if let Some(d) = self.diags.last_mut() {
                        d.help = Some("leave `ports` out to allow every port".into());
                    }
                }
                out
            }
        }
    }

    /// `consumers` of a shared entry, an exposed namespace or an external entry: tenants and
    /// shared entries by name, or `"*"` (every tenant). `itself` is the entry's own name.
    pub(super) fn consumers(
        &mut self,
        raw: Option<&RawConsumers>,
        owner: &str,
        itself: Option<&Consumer>,
        names: &ConsumerNames<'_>,
    ) -> Consumers {
        let list = match raw {
            None | Some(RawConsumers::All(_)) => return Consumers::All,
            Some(RawConsumers::List(list)) => list,
        };
        let mut set = BTreeSet::new();
        for c in list {
            let name = c.value.as_str();
            let consumer = if names.tenants.contains(&name) {
                TenantName::new(name).ok().map(Consumer::Tenant)
            } else if names.shared.contains(&name) {
                NamespaceName::new(name).ok().map(Consumer::Shared)
            } else {
                let mut d = Diagnostic::new(
                    format!(
                        "{owner} lists consumer `{name}`, which is not a tenant or shared entry"
                    ),
                    c.span.clone(),
                );
                let all = names.tenants.iter().chain(&names.shared).copied();
                if let Some(best) = closest(name, all) {
                    d = d.with_help(format!("did you mean `{best}`?"));
                }
                self.error(d);
                continue;
            };
            // An invalid name is reported at its own definition.
            let Some(consumer) = consumer else { continue };
            if Some(&consumer) == itself {
                self.error(
                    Diagnostic::new(
                        format!("{owner} lists itself as a consumer"),
                        c.span.clone(),
                    )
                    .with_help("remove it: an entry always reaches its own namespaces"),
                );
                continue;
            }
            if !set.insert(consumer) {
                self.error(
                    Diagnostic::new(format!("consumer `{name}` is listed twice"), c.span.clone())
                        .with_help("remove the duplicate"),
                );
            }
        }
        Consumers::Only(set)
    }

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

    /// A tenant's `ingress`: `true` (all its namespaces), `false`, or some of its namespaces.
    pub(super) fn tenant_ingress(
        &mut self,
        raw: Option<&RawIngress>,
        tenant: &str,
        namespaces: &BTreeSet<NamespaceName>,
        platform_has_ingress: bool,
    ) -> BTreeSet<NamespaceName> {
        let owner = format!("tenant `{tenant}`");
        let (out, span) = match raw {
            None => return BTreeSet::new(),
            Some(RawIngress::Flag(f)) if !f.value => return BTreeSet::new(),
            Some(RawIngress::Flag(f)) => (namespaces.clone(), f.span.clone()),
            Some(RawIngress::List(list)) => {
                let mut out = BTreeSet::new();
                for n in &list.value {
                    let Some(ns) = self.own_namespace(n, namespaces, &owner, "`ingress`") else {
                        continue;
                    };
                    if !out.insert(ns) {
                        self.error(
                            Diagnostic::new(
                                format!("namespace `{}` is listed twice in `ingress`", n.value),
                                n.span.clone(),
                            )
                            .with_help("remove the duplicate"),
                        );
                    }
                }
                (out, list.span.clone())
            }
        };
        if !out.is_empty() && !platform_has_ingress {
            self.no_platform_ingress(&owner, span);
        }
        out
    }

    pub(super) fn no_platform_ingress(&mut self, owner: &str, span: Range<usize>) {
        self.error(
            Diagnostic::new(
                format!("{owner} lets the ingress controller in, but [platform.ingress] is not configured"),
                span,
            )
            .with_help("add ingress = { namespace = \"...\", pod_labels = { ... } } under [platform]"),
        );
    }

    /// A name that must be one of the tenant's own namespaces.
    fn own_namespace(
        &mut self,
        n: &Located<String>,
        namespaces: &BTreeSet<NamespaceName>,
        owner: &str,
        key: &str,
    ) -> Option<NamespaceName> {
        match NamespaceName::new(&n.value) {
            Ok(ns) if namespaces.contains(&ns) => Some(ns),
            _ => {
                let mut d = Diagnostic::new(
                    format!(
                        "{key} of {owner} names `{}`, which is not one of its namespaces",
                        n.value
                    ),
                    n.span.clone(),
                );
                let own = namespaces.iter().map(NamespaceName::as_str);
                d = match closest(&n.value, own) {
                    Some(best) => d.with_help(format!("did you mean `{best}`?")),
                    None => d.with_help(format!(
                        "its namespaces are {}",
                        namespaces
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.error(d);
                None
            }
        }
    }

    /// `[tenants.<t>.expose.<namespace>]` tables of one tenant.
    pub(super) fn exposes(
        &mut self,
        raw: &[RawExpose],
        tenant: &str,
        namespaces: &BTreeSet<NamespaceName>,
        names: &ConsumerNames<'_>,
    ) -> BTreeMap<NamespaceName, Expose> {
        let mut out = BTreeMap::new();
        let itself = TenantName::new(tenant).ok().map(Consumer::Tenant);
        for e in raw {
            let owner = format!("[tenants.{tenant}.expose.{}]", e.namespace.value);
            let ns = self.own_namespace(
                &e.namespace,
                namespaces,
                &format!("tenant `{tenant}`"),
                "an `expose` key",
            );
            let consumers = match &e.consumers {
                Some(RawConsumers::List(l)) if l.is_empty() => {
                    self.error(
                        Diagnostic::new(format!("{owner} has no consumer"), e.namespace.span.clone())
                            .with_help("list the tenants and shared entries that may call it, or remove the table"),
                    );
                    Consumers::Only(BTreeSet::new())
                }
                Some(c) => self.consumers(Some(c), &owner, itself.as_ref(), names),
                None => {
                    self.error(
                        Diagnostic::new(format!("{owner} needs `consumers`: the tenants and shared entries that may call it"), e.namespace.span.clone())
                            .with_help("for example consumers = [\"globex\"]"),
                    );
                    Consumers::Only(BTreeSet::new())
                }
            };
            let ports = self.port_limit(e.ports.as_ref(), &format!("{owner} ports"));
            if let Some(ns) = ns {
                out.insert(ns, Expose { consumers, ports });
            }
        }
        out
    }
}

/// Where `cidr` is written in `list` (the list itself if it is not found).
fn span_of(list: &Located<Vec<Located<String>>>, cidr: &Cidr) -> Range<usize> {
    list.value
        .iter()
        .find(|c| c.value.parse::<Cidr>().ok() == Some(*cidr))
        .map_or_else(|| list.span.clone(), |c| c.span.clone())
}
