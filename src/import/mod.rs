//! `tenantc import`: from a cluster whose Namespaces, NetworkPolicies and Sidecars were written
//! by hand to a draft tenants.toml, with the proof of what the migration changes.
//!
//! - [`read`] reads the files, directories and `kind: List` dumps into verify's tree;
//! - verify's [`Model`] evaluates the imported policies as Kubernetes does;
//! - [`infer`] finds tenants, shared services, the platform and every flow between them;
//! - [`draft`] writes them as a commented tenants.toml;
//! - [`proof`] compiles the draft in memory and compares, pair by pair and port by port, what
//!   the migrated cluster would allow with what the imported policies allow.

pub mod draft;
pub mod infer;
pub mod proof;
pub mod read;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use infer::{Draft, Hints, Note};
pub use proof::{FlowChange, Proof};

use crate::verify::layer::netpol::NAME_LABEL;
use crate::verify::model::Model;
use crate::verify::tree::{Peer, Tree};
use crate::Error;

/// What to import, and what the policies cannot say.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub hints: Hints,
}

/// The draft and its report.
#[derive(Debug, Serialize)]
pub struct Imported {
    /// The draft tenants.toml.
    pub draft: String,
    pub report: Report,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// `exact` (nothing opens or closes), `closes` (flows close, none opens) or `opens`.
    pub status: &'static str,
    pub files: usize,
    pub documents: usize,
    pub namespaces: usize,
    pub policies: usize,
    pub sidecars: usize,
    pub inferred: Draft,
    /// What tenants.toml cannot say, each with its object.
    pub cannot_express: Vec<Note>,
    /// Namespace selectors on labels that any namespace could carry.
    pub spoofable_labels: Vec<Note>,
    /// Documents of kinds import does not model.
    pub not_modelled: Vec<Note>,
    pub proof: Proof,
}

impl Report {
    /// Whether the migration would open a flow the imported policies deny.
    pub fn opens(&self) -> bool {
        !self.proof.opens.is_empty()
    }
}

/// Reads `options.paths`, infers the draft, compiles it and proves what changes. Unreadable
/// input is [`Error::Tree`]; a draft that does not compile (a bug) is [`Error::Config`].
pub fn import(options: &Options) -> Result<Imported, Error> {
    let tree = read::read_inputs(&options.paths).map_err(Error::Tree)?;
    let (files, documents) = (tree.files, tree.documents);
    let (policies, sidecars) = (tree.policies.len(), tree.sidecars.len());
    let spoofable_labels = spoofable(&tree);
    let not_modelled = unmodelled(&tree);
    let kept = tree.clone();
    let before = Model::build(tree, &[]);
    let namespaces = before.namespace_doc.iter().flatten().count();
    let infer::Inferred { draft, notes } = infer::infer(&before, &options.hints);
    let mut cannot_express = notes;
    cannot_express.extend(
        before
            .problems
            .iter()
            .filter(|p| p.check != "tenant-settable-label")
            .map(|p| Note {
                kind: "invalid",
                object: infer::object_text(&p.origin),
                message: p.message.clone(),
            }),
    );
    let sources: Vec<String> = options
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let text = draft::to_toml(&draft, &sources.join(", "));
    let config = crate::config_from_source(&text, "tenants.toml (draft)")?;
    let compiled = crate::compile_config(config, "tenants.toml");
    let after_tree = proof::after_tree(&compiled, kept)?;
    let known: Vec<String> = before.names[1..].to_vec();
    let after = Model::build(after_tree, &known);
    let proof = proof::compare(&before, &after, &compiled.intent);
    // Both models are large and about to be dropped with the process.
    std::mem::forget(after);
    std::mem::forget(before);
    let status = if !proof.opens.is_empty() {
        "opens"
    } else if !proof.closes.is_empty() {
        "closes"
    } else {
        "exact"
    };
    Ok(Imported {
        draft: text,
        report: Report {
            status,
            files,
            documents,
            namespaces,
            policies,
            sidecars,
            inferred: draft,
            cannot_express,
            spoofable_labels,
            not_modelled,
            proof,
        },
    })
}

/// Namespace selectors on a label other than the name label, which the API server sets: any
/// namespace whose owner may label it could carry the label and be let in.
fn spoofable(tree: &Tree) -> Vec<Note> {
    // (label, selector) -> the policies using it
    let mut uses: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for p in &tree.policies {
        let rules = p.ingress.iter().chain(&p.egress).flat_map(|r| r.iter());
        for rule in rules {
            let peers: &[Peer] = rule.from.as_deref().or(rule.to.as_deref()).unwrap_or(&[]);
            for peer in peers {
                let Some(sel) = &peer.namespace_selector else {
                    continue;
                };
                let keys = sel
                    .match_labels
                    .keys()
                    .chain(sel.match_expressions.iter().map(|e| &e.key))
                    .filter(|k| *k != NAME_LABEL);
                for k in keys {
                    uses.entry((k.to_string(), sel.describe()))
                        .or_default()
                        .push(infer::object_text(&p.origin));
                }
            }
        }
    }
    uses.into_iter()
        .map(|((key, selector), mut objects)| {
            objects.sort();
            objects.dedup();
            let carriers: Vec<&str> = tree
                .namespaces
                .iter()
                .filter(|n| n.labels.get(&key).is_some())
                .map(|n| n.origin.name.as_str())
                .collect();
            Note {
                kind: "spoofable-label",
                object: objects[0].clone(),
                message: format!(
                    "namespaceSelector `{selector}` ({} {}): label `{key}` is set by whoever may label a namespace, so any namespace could carry it and be let in; {} namespaces carry it now{}. The draft selects namespaces by {NAME_LABEL}, which only the API server sets: a namespace that adds the label gains nothing, and a flow only the label opened closes (see the proof)",
                    objects.len(),
                    if objects.len() == 1 { "policy" } else { "policies" },
                    carriers.len(),
                    if carriers.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({}{})",
                            carriers.iter().take(8).copied().collect::<Vec<_>>().join(", "),
                            if carriers.len() > 8 { ", ..." } else { "" }
                        )
                    }
                ),
            }
        })
        .collect()
}

/// Documents import does not model: any kind but Namespaces, Istio's networking and security
/// objects and NetworkPolicies, and network policy kinds of other projects (Calico, Cilium,
/// AdminNetworkPolicy), whose flows are not in the proof.
fn unmodelled(tree: &Tree) -> Vec<Note> {
    let mut out: Vec<Note> = tree
        .audit
        .iter()
        .filter(|f| f.check == "foreign-kind")
        .map(|f| {
            let o = &f.objects[0];
            // "<file> holds a <Kind> `<name>` (<api>): ..."
            let what = f
                .message
                .split_once(" holds a ")
                .and_then(|(_, rest)| rest.split_once(": tenantc never"))
                .map_or_else(|| o.name.to_string(), |(w, _)| w.to_owned());
            Note {
                kind: "unmodelled-kind",
                object: format!("{}: {what}", o.file),
                message: "not a kind import models: left out of the draft".into(),
            }
        })
        .collect();
    out.extend(tree.unevaluated.iter().map(|o| Note {
        kind: "unmodelled-kind",
        object: format!("{}: {}", o.file, o.name),
        message: "a network policy kind tenantc does not evaluate: its flows are not in the proof, and tenants.toml cannot say them".into(),
    }));
    // Access objects: tenants.toml says them (owners, editors, viewers, quota,
    // container_defaults), but import does not infer them yet; none may vanish silently.
    let access = tree
        .rbac
        .iter()
        .map(|r| &r.origin)
        .chain(tree.quotas.iter().map(|q| &q.origin))
        .chain(tree.limit_ranges.iter().map(|l| &l.origin));
    out.extend(access.map(|o| Note {
        kind: "access-not-imported",
        object: format!("{}: {} {}", o.file, o.kind, o.name),
        message: "left out of the draft: write its subjects, quota or container defaults as `owners`, `editors`, `viewers`, `quota` and `container_defaults` of the tenant (README, tenants.toml reference), or the compiled tree will not have it".into(),
    }));
    out.sort();
    out
}

impl Imported {
    /// The report for people.
    pub fn report_text(&self) -> String {
        let r = &self.report;
        let d = &r.inferred;
        let mut out = format!(
            "imported {} documents from {} files: {} namespaces, {} NetworkPolicies, {} Sidecars\n",
            r.documents, r.files, r.namespaces, r.policies, r.sidecars
        );
        let ports = |p: &[u16]| {
            if p.is_empty() {
                "every port".to_owned()
            } else {
                p.iter()
                    .map(|x| format!("TCP/{x}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        out.push_str(&format!("\ntenants ({}):\n", d.tenants.len()));
        for t in &d.tenants {
            out.push_str(&format!(
                "  {}: {} ({})\n",
                t.name,
                t.namespaces.join(", "),
                t.why
            ));
            for x in &t.exposes {
                out.push_str(&format!(
                    "    exposes {} to {} on {}\n",
                    x.namespace,
                    x.consumers.join(", "),
                    ports(&x.ports)
                ));
            }
            if !t.ingress.is_empty() {
                out.push_str(&format!("    ingress: {}\n", t.ingress.join(", ")));
            }
            if t.kube_api {
                out.push_str("    reaches the Kubernetes API\n");
            }
        }
        out.push_str(&format!("\nshared ({}):\n", d.shared.len()));
        for s in &d.shared {
            let consumers = match &s.consumers {
                infer::Consumers::Every => "every tenant".to_owned(),
                infer::Consumers::Names(n) => n.join(", "),
            };
            out.push_str(&format!(
                "  {}: consumed by {consumers} on {}\n",
                s.name,
                ports(&s.ports)
            ));
        }
        out.push_str("\nplatform:\n");
        let component = |what: &str, c: &Option<infer::Component>, out: &mut String| {
            if let Some(c) = c {
                out.push_str(&format!("  {what}: {} ({})", c.namespace, c.why));
                if let Some(w) = &c.withheld {
                    out.push_str(&format!("; withheld: {w}"));
                }
                out.push('\n');
            }
        };
        component("DNS", &d.dns, &mut out);
        if !d.dns_cidrs.is_empty() {
            out.push_str(&format!(
                "  node-local DNS caches: {}\n",
                d.dns_cidrs.join(", ")
            ));
        }
        if let Some(m) = &d.mesh {
            out.push_str(&format!("  mesh: {} ({})\n", m.namespace, m.why));
        }
        component("ingress controller", &d.ingress, &mut out);
        component("monitoring", &d.monitoring, &mut out);
        if let Some(k) = &d.kube_api {
            out.push_str(&format!(
                "  Kubernetes API: {} ({})\n",
                k.cidrs.join(", "),
                k.why
            ));
        }
        if !d.externals.is_empty() {
            out.push_str(&format!("\noutside the cluster ({}):\n", d.externals.len()));
            for e in &d.externals {
                out.push_str(&format!(
                    "  external {}: {} on {}{} for {}{}\n",
                    e.name,
                    e.cidrs.join(", "),
                    ports(&e.ports),
                    if e.hosts.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", e.hosts.join(", "))
                    },
                    e.consumers.join(", "),
                    if d.externals_withheld {
                        " (withheld: no cluster ranges)"
                    } else {
                        ""
                    }
                ));
            }
        }
        for (title, notes) in [
            ("cannot be expressed in tenants.toml", &r.cannot_express),
            (
                "labels any namespace could set, used to select namespaces",
                &r.spoofable_labels,
            ),
            ("not modelled", &r.not_modelled),
        ] {
            if notes.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title} ({}):\n", notes.len()));
            for n in notes {
                if n.object.is_empty() {
                    out.push_str(&format!("  {}: {}\n", n.kind, n.message));
                } else {
                    out.push_str(&format!("  {}: {}: {}\n", n.kind, n.object, n.message));
                }
            }
        }
        let p = &r.proof;
        out.push_str(&format!(
            "\nproof: the draft compiled against the imported policies, {} namespace pairs compared port by port:\n",
            p.pairs_compared
        ));
        if p.opens.is_empty() {
            out.push_str("  opens nothing\n");
        } else {
            out.push_str(&format!(
                "  OPENS {} flows the imported policies deny:\n",
                p.opens.len()
            ));
            for f in &p.opens {
                out.push_str(&format!("    + {}\n", f.text()));
            }
        }
        if p.closes.is_empty() {
            out.push_str("  closes nothing\n");
        } else {
            out.push_str(&format!(
                "  closes {} flows the imported policies allow:\n",
                p.closes.len()
            ));
            for f in &p.closes {
                out.push_str(&format!("    - {}\n", f.text()));
            }
        }
        out.push_str(match r.status {
            "opens" => "result: the migration would OPEN flows (exit 1): change the draft, or accept each one knowingly\n",
            "closes" => "result: the migration only closes flows (exit 0): check that each one may close\n",
            _ => "result: the draft allows exactly what the imported policies allow (exit 0)\n",
        });
        out
    }
}
