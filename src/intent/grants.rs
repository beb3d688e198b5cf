//! Who may use what: the config's grants indexed per consumer, and the pieces of intent that
//! namespaces of different owners share (calls, port groups, outside flows, Sidecar hosts).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::{Config, Consumer, Consumers, DataplaneMode, ExternalName, NamespaceName, Port};

use super::outside::{external_blocks, external_service_entry, kube_api_flow};
use super::{
    Call, OutsideFlow, PortGroup, Rule, ServiceEntryIntent, ServiceEntryPort, ADDRESS_ONLY_DOMAIN,
};

/// `calls` whose rule passes `keep`, grouped by their ports (each group one NetworkPolicy rule).
fn groups(calls: &[Call], keep: impl Fn(&Rule) -> bool) -> Vec<PortGroup> {
    let mut by_ports: BTreeMap<&BTreeSet<Port>, BTreeSet<NamespaceName>> = BTreeMap::new();
    for c in calls.iter().filter(|c| keep(&c.rule)) {
        by_ports
            .entry(&c.ports)
            .or_default()
            .insert(c.namespace.clone());
    }
    by_ports
        .into_iter()
        .map(|(ports, namespaces)| PortGroup {
            ports: ports.clone(),
            namespaces,
        })
        .collect()
}

/// A namespace's calls to other owners, and the same grouped by ports.
#[derive(Clone)]
pub(super) struct Egress {
    pub(super) calls: Arc<Vec<Call>>,
    pub(super) shared: Arc<Vec<PortGroup>>,
    pub(super) exposed: Arc<Vec<PortGroup>>,
}

/// A namespace's flows out of the cluster, and the ServiceEntries its sidecars need for them.
#[derive(Clone)]
pub(super) struct Outside {
    pub(super) flows: Arc<Vec<OutsideFlow>>,
    pub(super) service_entries: Arc<Vec<ServiceEntryIntent>>,
}

/// What namespaces of different owners have in common, built once and shared: most tenants
/// consume the same shared and external entries, so their calls, port groups, outside flows and
/// ServiceEntries are equal, and so are the Sidecar hosts of those calls. At 100,000 tenants the
/// copies were most of the intent's memory.
#[derive(Default)]
pub(super) struct Interned<'a> {
    egress: BTreeMap<Arc<Vec<Call>>, Egress>,
    outside: BTreeMap<(Vec<&'a ExternalName>, bool), Outside>,
    hosts: BTreeSet<Arc<str>>,
}

impl<'a> Interned<'a> {
    pub(super) fn egress(&mut self, calls: Vec<Call>) -> Egress {
        if let Some(e) = self.egress.get(&calls) {
            return e.clone();
        }
        let e = Egress {
            shared: Arc::new(groups(&calls, |r| matches!(r, Rule::Shared { .. }))),
            exposed: Arc::new(groups(&calls, |r| matches!(r, Rule::Exposed { .. }))),
            calls: Arc::new(calls),
        };
        self.egress.insert(e.calls.clone(), e.clone());
        e
    }

    pub(super) fn outside(
        &mut self,
        grants: &Grants<'a>,
        me: &Consumer,
        kube_api: bool,
    ) -> Outside {
        let key = (grants.externals_of(me), kube_api);
        if let Some(o) = self.outside.get(&key) {
            return o.clone();
        }
        let flows = grants.outside_of(&key.0, kube_api);
        let o = Outside {
            service_entries: Arc::new(grants.service_entries(&flows)),
            flows: Arc::new(flows),
        };
        self.outside.insert(key, o.clone());
        o
    }

    /// `host`, shared with every equal one.
    pub(super) fn host(&mut self, host: String) -> Arc<str> {
        if let Some(h) = self.hosts.get(host.as_str()) {
            return h.clone();
        }
        let h: Arc<str> = host.into();
        self.hosts.insert(h.clone());
        h
    }
}

/// Who may use what, looked up per consumer: the config's grants indexed once, so that building
/// every namespace's intent stays linear in the size of the config.
pub(super) struct Grants<'a> {
    config: &'a Config,
    /// Every tenant's namespaces, for `"*"`.
    all_tenant_namespaces: BTreeSet<NamespaceName>,
    /// The calls granted to a consumer by name, and to every tenant (`"*"`).
    calls: BTreeMap<Consumer, Vec<Call>>,
    calls_of_every_tenant: Vec<Call>,
    /// The external entries granted to a consumer by name, and to every tenant.
    externals: BTreeMap<Consumer, Vec<&'a ExternalName>>,
    externals_of_every_tenant: Vec<&'a ExternalName>,
}

impl<'a> Grants<'a> {
    pub(super) fn of(config: &'a Config) -> Self {
        let mut g = Self {
            config,
            all_tenant_namespaces: config
                .tenants
                .values()
                .flat_map(|t| t.namespaces.iter().cloned())
                .collect(),
            calls: BTreeMap::new(),
            calls_of_every_tenant: Vec::new(),
            externals: BTreeMap::new(),
            externals_of_every_tenant: Vec::new(),
        };
        let shared = config.shared.iter().map(|(name, s)| {
            let rule = Rule::Shared {
                shared: name.clone(),
            };
            (name, &s.consumers, &s.ports, rule)
        });
        let exposed = config.tenants.iter().flat_map(|(t, tenant)| {
            tenant.expose.iter().map(move |(ns, e)| {
                let rule = Rule::Exposed {
                    tenant: t.clone(),
                    namespace: ns.clone(),
                };
                (ns, &e.consumers, &e.ports, rule)
            })
        });
        for (ns, consumers, ports, rule) in shared.chain(exposed) {
            let call = Call {
                namespace: ns.clone(),
                ports: ports.clone(),
                rule,
            };
            match consumers {
                Consumers::All => g.calls_of_every_tenant.push(call),
                Consumers::Only(set) => {
                    for c in set {
                        g.calls.entry(c.clone()).or_default().push(call.clone());
                    }
                }
            }
        }
        for (name, e) in &config.externals {
            match &e.consumers {
                Consumers::All => g.externals_of_every_tenant.push(name),
                Consumers::Only(set) => {
                    for c in set {
                        g.externals.entry(c.clone()).or_default().push(name);
                    }
                }
            }
        }
        g
    }

    /// The namespaces of `consumers`, less the grantor's own (`me`).
    pub(super) fn namespaces_of(
        &self,
        consumers: &Consumers,
        me: Option<&Consumer>,
    ) -> BTreeSet<NamespaceName> {
        let mut out = match consumers {
            Consumers::All => self.all_tenant_namespaces.clone(),
            Consumers::Only(set) => set
                .iter()
                .flat_map(|c| self.namespaces_of_consumer(c))
                .collect(),
        };
        if let Some(me) = me {
            for n in self.namespaces_of_consumer(me) {
                out.remove(&n);
            }
        }
        out
    }

    fn namespaces_of_consumer(&self, c: &Consumer) -> Vec<NamespaceName> {
        match c {
            Consumer::Tenant(t) => self
                .config
                .tenants
                .get(t)
                .map(|t| t.namespaces.iter().cloned().collect())
                .unwrap_or_default(),
            Consumer::Shared(s) => vec![s.clone()],
        }
    }

    /// The shared and exposed namespaces `me` may call, never its own.
    pub(super) fn calls_of(&self, me: &Consumer) -> Vec<Call> {
        let every_tenant = match me {
            Consumer::Tenant(_) => &self.calls_of_every_tenant[..],
            Consumer::Shared(_) => &[],
        };
        let own = self.namespaces_of_consumer(me);
        let mut out: Vec<Call> = self
            .calls
            .get(me)
            .into_iter()
            .flatten()
            .chain(every_tenant)
            .filter(|c| !own.contains(&c.namespace))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The external entries `me` may reach, sorted and unique.
    fn externals_of(&self, me: &Consumer) -> Vec<&'a ExternalName> {
        let every_tenant = match me {
            Consumer::Tenant(_) => &self.externals_of_every_tenant[..],
            Consumer::Shared(_) => &[],
        };
        let mut names: Vec<&ExternalName> = self
            .externals
            .get(me)
            .into_iter()
            .flatten()
            .chain(every_tenant)
            .copied()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The destinations outside the cluster of a namespace that uses the external entries
    /// `names` ([`Self::externals_of`]), and the Kubernetes API when `kube_api`.
    fn outside_of(&self, names: &[&ExternalName], kube_api: bool) -> Vec<OutsideFlow> {
        let cluster = &self.config.cluster;
        let mut out: Vec<OutsideFlow> = names
            .iter()
            .copied()
            .filter_map(|name| Some((name, self.config.externals.get(name)?)))
            .map(|(name, e)| OutsideFlow {
                rule: Rule::External { name: name.clone() },
                hosts: e.hosts.iter().cloned().collect(),
                blocks: external_blocks(e, cluster, self.config.platform.kube_api.as_ref()),
                ports: e.ports.clone(),
            })
            .collect();
        if let (true, Some(k)) = (kube_api, &self.config.platform.kube_api) {
            out.push(kube_api_flow(k));
        }
        out
    }

    /// The registry entries the sidecars of a namespace with these outside flows need: one per
    /// external entry (the Kubernetes API is a Service, already in the registry), and one for
    /// node-local DNS caches, whose TCP answers pass Envoy.
    fn service_entries(&self, outside: &[OutsideFlow]) -> Vec<ServiceEntryIntent> {
        // In ambient mode nothing filters egress by the registry (ztunnel ignores REGISTRY_ONLY,
        // istio/istio#54281, and `exportTo`, istio/istio#55163): the ServiceEntries would only
        // be noise. NetworkPolicy's ipBlocks are the egress control there.
        if self
            .config
            .mesh
            .as_ref()
            .is_none_or(|m| m.mode == DataplaneMode::Ambient)
        {
            return Vec::new();
        }
        let mut out = Vec::new();
        for flow in outside {
            let Rule::External { name } = &flow.rule else {
                continue;
            };
            let Some(e) = self.config.externals.get(name) else {
                continue;
            };
            out.push(external_service_entry(name, e, &flow.blocks));
        }
        let dns = &self.config.platform.dns;
        if !dns.cidrs.is_empty() {
            out.push(ServiceEntryIntent {
                name: "node-local-dns".into(),
                purpose: "[platform.dns] cidrs: node-local DNS caches. DNS over TCP passes Envoy, so under REGISTRY_ONLY it needs a registry entry".into(),
                hosts: vec![format!("node-local-dns.{ADDRESS_ONLY_DOMAIN}")],
                addresses: dns.cidrs.iter().copied().collect(),
                ports: dns
                    .ports
                    .iter()
                    .map(|p| ServiceEntryPort {
                        number: *p,
                        name: format!("tcp-dns-{p}"),
                        protocol: "TCP",
                    })
                    .collect(),
                resolution: "NONE",
            });
        }
        out
    }
}
