//! The flows real tenants need inside the cluster: `consumers` lists, exposed namespaces, port
//! limits, a tenant's ingress, and the cluster ranges every grant outside the cluster is checked
//! against (the destinations outside it are in `outside`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::Resolver;
use crate::diag::{closest, Diagnostic};
use crate::load::{Located, RawConsumers, RawExpose, RawIngress};
use crate::model::{Cidr, Consumer, Consumers, Expose, NamespaceName, Port, TenantName};

/// An external entry names its ServiceEntry `external-<name>`, which must stay a 63-character label.
pub const MAX_EXTERNAL_NAME: usize = 63 - "external-".len();
/// ServiceEntry's `hosts` and `addresses` hold at most 256 items (Istio's CRD).
pub(super) const MAX_SERVICEENTRY_ITEMS: usize = 256;
/// The Kubernetes API server's ports when `[platform.kube_api]` does not list them: 443 (managed
/// clusters) and 6443 (kubeadm).
pub const DEFAULT_KUBE_API_PORTS: [u16; 2] = [443, 6443];

pub(super) const FIND_RANGES: &str = "find them with `kubectl cluster-info dump | grep -m2 -E -- '--(cluster-cidr|service-cluster-ip-range)'`, or in your provider's cluster settings (EKS: the VPC CIDR and `kubernetes_network_config.service_ipv4_cidr`; GKE: `clusterIpv4Cidr` and `servicesIpv4Cidr`)";

/// Destinations `explain` and `graph` know by a name of their own, which no external entry may
/// take: [`crate::intent::KUBE_API_TARGET`], and `dns` for the cluster DNS.
pub(super) const BUILT_IN_DESTINATIONS: [(&str, &str); 2] = [
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

    pub(super) fn cidr(&mut self, c: &Located<String>, what: &str) -> Option<Cidr> {
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
pub(super) fn span_of(list: &Located<Vec<Located<String>>>, cidr: &Cidr) -> Range<usize> {
    list.value
        .iter()
        .find(|c| c.value.parse::<Cidr>().ok() == Some(*cidr))
        .map_or_else(|| list.span.clone(), |c| c.span.clone())
}
