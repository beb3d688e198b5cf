//! The side a tenants.toml describes: its namespaces and who holds them, where each is claimed,
//! retired and purged, and the flows of each namespace with the rule that grants them.

use std::collections::BTreeMap;

use crate::diag::LineIndex;
use crate::intent::{Intent, NamespaceIntent, Role, Rule};
use crate::load::{RawConfig, RawExternal, RawRetired, RawShared, RawTenant};
use crate::model::{Config, ExternalName, NamespaceName, RetiredOwner, TenantName};

use super::{Held, Location, Owner, Side};

impl Side {
    /// The side a valid tenants.toml describes; `source` is its text (for lines), `file` how
    /// messages name it.
    pub fn of_config(config: &Config, intent: &Intent, source: &str, file: &str) -> Self {
        Self::of_config_with(config, intent, source, file, true)
    }

    /// [`Side::of_config`], with the flows of each namespace (`calls`) only if `flows`: a
    /// compile compares namespaces only, and at 100,000 tenants the flows take 300 MB.
    pub fn of_config_with(
        config: &Config,
        intent: &Intent,
        source: &str,
        file: &str,
        flows: bool,
    ) -> Self {
        let raw = crate::load::load_partial(source)
            .map(|(raw, _)| raw)
            .unwrap_or_default();
        // A cluster of a file with `[clusters]`: the single-cluster file its view describes.
        let cluster = config.cluster.name.as_ref().map(ToString::to_string);
        let raw = match raw
            .clusters
            .iter()
            .find(|c| Some(&c.name.value) == cluster.as_ref())
        {
            Some(entry) => crate::place::view(&raw, entry),
            None => raw,
        };
        let mut reader = Reader {
            config,
            written: Written {
                file,
                lines: LineIndex::new(source),
            },
            side: Side {
                has_flows: flows,
                ..Side::default()
            },
            claimed: BTreeMap::new(),
        };
        for t in &raw.tenants {
            reader.tenant(t);
        }
        for s in &raw.shared {
            reader.shared(s);
        }
        for e in &raw.externals {
            reader.external(e);
        }
        reader.purged(&raw);
        for (name, ns) in &intent.namespaces {
            reader.namespace(name, ns);
        }
        reader.side
    }
}

/// Where a tenants.toml writes something: the file as messages name it, and its lines.
struct Written<'s> {
    file: &'s str,
    lines: LineIndex<'s>,
}

impl Written<'_> {
    fn at(&self, offset: usize) -> Location {
        let (line, column) = self.lines.line_col(offset);
        Location {
            file: self.file.to_owned(),
            line: Some(line),
            column: Some(column),
        }
    }
}

/// A side being read from one tenants.toml: table by table, then namespace by namespace of its
/// intent (which knows who holds what).
struct Reader<'a> {
    config: &'a Config,
    written: Written<'a>,
    side: Side,
    /// Where each namespace is first claimed.
    claimed: BTreeMap<String, Location>,
}

impl Reader<'_> {
    /// The first claim of a namespace is where it is said to be.
    fn claim(&mut self, namespace: &str, offset: usize) {
        let written = &self.written;
        self.claimed
            .entry(namespace.to_owned())
            .or_insert_with(|| written.at(offset));
    }

    /// `[tenants.<t>]`: its name, the namespaces it claims (its own name if it lists none), what
    /// it retires and the rules it writes.
    fn tenant(&mut self, t: &RawTenant) {
        self.side
            .tenants
            .insert(t.name.value.clone(), self.written.at(t.name.span.start));
        match &t.namespaces {
            Some(list) => {
                for n in &list.value {
                    self.claim(&n.value, n.span.start);
                }
            }
            None => self.claim(&t.name.value, t.name.span.start),
        }
        if let Some(retired) = &t.retired {
            self.tenant_retired(&t.name.value, retired);
        }
        self.tenant_rules(t);
    }

    /// Where a tenant's `retired` is written: each listed namespace at its entry, or, for
    /// `retired = true`, each of the tenant's retired namespaces at the flag.
    fn tenant_retired(&mut self, tenant: &str, retired: &RawRetired) {
        match retired {
            RawRetired::List(list) => {
                for n in &list.value {
                    self.side
                        .retired_at
                        .insert(n.value.clone(), self.written.at(n.span.start));
                }
            }
            RawRetired::Flag(f) => {
                for ns in config_namespaces_of(self.config, tenant) {
                    self.side
                        .retired_at
                        .insert(ns, self.written.at(f.span.start));
                }
            }
        }
    }

    /// The rules a tenant writes: its `expose` tables, and `kube_api`.
    fn tenant_rules(&mut self, t: &RawTenant) {
        for e in &t.expose {
            if let (Ok(tenant), Ok(namespace)) = (
                TenantName::new(&t.name.value),
                NamespaceName::new(&e.namespace.value),
            ) {
                let rule = Rule::Exposed { tenant, namespace };
                self.side
                    .rule_at
                    .insert(rule, self.written.at(e.namespace.span.start));
            }
        }
        // One line for `kube_api`, the first tenant's that sets it (the rule has no owner).
        if let Some(k) = t.kube_api.as_ref().filter(|k| k.value) {
            let written = &self.written;
            self.side
                .rule_at
                .entry(Rule::KubeApi)
                .or_insert_with(|| written.at(k.span.start));
        }
    }

    /// `[shared.<name>]`: the namespace it claims, its `retired`, and its rule.
    fn shared(&mut self, s: &RawShared) {
        self.claim(&s.name.value, s.name.span.start);
        if let Some(r) = &s.retired {
            self.side
                .retired_at
                .insert(s.name.value.clone(), self.written.at(r.span.start));
        }
        if let Ok(shared) = NamespaceName::new(&s.name.value) {
            self.side
                .rule_at
                .insert(Rule::Shared { shared }, self.written.at(s.name.span.start));
        }
    }

    /// `[external.<name>]`: its rule.
    fn external(&mut self, e: &RawExternal) {
        if let Ok(name) = ExternalName::new(&e.name.value) {
            self.side
                .rule_at
                .insert(Rule::External { name }, self.written.at(e.name.span.start));
        }
    }

    /// `[purged] namespaces`.
    fn purged(&mut self, raw: &RawConfig) {
        if let Some(p) = &raw.purged {
            for n in p.namespaces.iter().flat_map(|l| &l.value) {
                self.side.purged.insert(n.value.clone());
            }
        }
    }

    /// One namespace of the intent: who holds it, whether it is retired, where it is claimed
    /// (the file alone if no table claims it), and, when flows are read and it is in service,
    /// its flows.
    fn namespace(&mut self, name: &NamespaceName, ns: &NamespaceIntent) {
        let owner = match (&ns.role, &ns.tenant) {
            (_, Some(t)) => Owner::Tenant(t.to_string()),
            _ => Owner::Shared(name.to_string()),
        };
        let retired = ns.role == Role::Retired;
        let at = self
            .claimed
            .get(name.as_str())
            .cloned()
            .unwrap_or_else(|| Location::of_file(self.written.file.to_owned()));
        self.side
            .namespaces
            .insert(name.to_string(), Held { owner, retired, at });
        if self.side.has_flows && !retired {
            let calls = calls_of(ns, &self.side.rule_at);
            self.side.calls.insert(name.to_string(), calls);
        }
    }
}

/// The flows of a namespace in service, inside the cluster then out of it: (destination, rule,
/// where the rule is written).
fn calls_of(
    ns: &NamespaceIntent,
    rule_at: &BTreeMap<Rule, Location>,
) -> Vec<(String, Rule, Option<Location>)> {
    let inside = ns.calls.iter().map(|c| (c.namespace.to_string(), &c.rule));
    let outside = ns.outside.iter().map(|o| {
        let dest = match &o.rule {
            Rule::External { name } => format!("external {name}"),
            _ => "the Kubernetes API".to_owned(),
        };
        (dest, &o.rule)
    });
    inside
        .chain(outside)
        .map(|(dest, rule)| (dest, rule.clone(), rule_at.get(rule).cloned()))
        .collect()
}

fn config_namespaces_of(config: &Config, tenant: &str) -> Vec<String> {
    config
        .retired
        .iter()
        .filter(|(_, r)| matches!(&r.owner, RetiredOwner::Tenant(t) if t.as_str() == tenant))
        .map(|(n, _)| n.to_string())
        .collect()
}
