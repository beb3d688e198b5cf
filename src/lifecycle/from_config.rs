//! The side a tenants.toml describes: its namespaces and who holds them, where each is claimed,
//! retired and purged, and the flows of each namespace with the rule that grants them.

use std::collections::BTreeMap;

use crate::intent::{Intent, Role, Rule};
use crate::load::{RawConfig, RawIngress};
use crate::model::{Config, ExternalName, NamespaceName, RetiredOwner, TenantName};

use super::{Held, Location, Owner, Side};

fn locate(file: &str, lines: &crate::diag::LineIndex, offset: usize) -> Location {
    let (line, column) = lines.line_col(offset);
    Location {
        file: file.to_owned(),
        line: Some(line),
        column: Some(column),
    }
}

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
        let lines = crate::diag::LineIndex::new(source);
        let at = |offset: usize| locate(file, &lines, offset);
        let mut side = Side {
            has_flows: flows,
            ..Side::default()
        };
        let mut claimed: BTreeMap<String, Location> = BTreeMap::new();
        for t in &raw.tenants {
            side.tenants
                .insert(t.name.value.clone(), at(t.name.span.start));
            match &t.namespaces {
                Some(list) => {
                    for n in &list.value {
                        claimed
                            .entry(n.value.clone())
                            .or_insert_with(|| at(n.span.start));
                    }
                }
                None => {
                    claimed
                        .entry(t.name.value.clone())
                        .or_insert_with(|| at(t.name.span.start));
                }
            }
            match &t.retired {
                Some(RawIngress::List(list)) => {
                    for n in &list.value {
                        side.retired_at.insert(n.value.clone(), at(n.span.start));
                    }
                }
                Some(RawIngress::Flag(f)) => {
                    for ns in config_namespaces_of(config, &t.name.value) {
                        side.retired_at.insert(ns, at(f.span.start));
                    }
                }
                None => {}
            }
            for e in &t.expose {
                if let (Ok(tenant), Ok(namespace)) = (
                    TenantName::new(&t.name.value),
                    NamespaceName::new(&e.namespace.value),
                ) {
                    let rule = Rule::Exposed { tenant, namespace };
                    side.rule_at.insert(rule, at(e.namespace.span.start));
                }
            }
            // One line for `kube_api`, the first tenant's that sets it (the rule has no owner).
            if let Some(k) = t.kube_api.as_ref().filter(|k| k.value) {
                side.rule_at
                    .entry(Rule::KubeApi)
                    .or_insert_with(|| at(k.span.start));
            }
        }
        for s in &raw.shared {
            claimed
                .entry(s.name.value.clone())
                .or_insert_with(|| at(s.name.span.start));
            if let Some(r) = &s.retired {
                side.retired_at
                    .insert(s.name.value.clone(), at(r.span.start));
            }
            if let Ok(shared) = NamespaceName::new(&s.name.value) {
                side.rule_at
                    .insert(Rule::Shared { shared }, at(s.name.span.start));
            }
        }
        for e in &raw.externals {
            if let Ok(name) = ExternalName::new(&e.name.value) {
                side.rule_at
                    .insert(Rule::External { name }, at(e.name.span.start));
            }
        }
        purged_of(&raw, &mut side);
        for (name, ns) in &intent.namespaces {
            let owner = match (&ns.role, &ns.tenant) {
                (_, Some(t)) => Owner::Tenant(t.to_string()),
                _ => Owner::Shared(name.to_string()),
            };
            let retired = ns.role == Role::Retired;
            let location = claimed.get(name.as_str()).cloned().unwrap_or(Location {
                file: file.to_owned(),
                line: None,
                column: None,
            });
            side.namespaces.insert(
                name.to_string(),
                Held {
                    owner,
                    retired,
                    at: location,
                },
            );
            if flows && !retired {
                let inside = ns.calls.iter().map(|c| (c.namespace.to_string(), &c.rule));
                let outside = ns.outside.iter().map(|o| {
                    let dest = match &o.rule {
                        Rule::External { name } => format!("external {name}"),
                        _ => "the Kubernetes API".to_owned(),
                    };
                    (dest, &o.rule)
                });
                let calls = inside
                    .chain(outside)
                    .map(|(dest, rule)| (dest, rule.clone(), side.rule_at.get(rule).cloned()))
                    .collect();
                side.calls.insert(name.to_string(), calls);
            }
        }
        side
    }
}

fn config_namespaces_of(config: &Config, tenant: &str) -> Vec<String> {
    config
        .retired
        .iter()
        .filter(|(_, r)| matches!(&r.owner, RetiredOwner::Tenant(t) if t.as_str() == tenant))
        .map(|(n, _)| n.to_string())
        .collect()
}

fn purged_of(raw: &RawConfig, side: &mut Side) {
    if let Some(p) = &raw.purged {
        for n in p.namespaces.iter().flat_map(|l| &l.value) {
            side.purged.insert(n.value.clone());
        }
    }
}
