//! What the `spec` blocks of NetworkPolicies and ServiceEntries give, remembered by their text.
//!
//! Most of a large tree's policies spell their `spec` the same as a policy of another namespace
//! (the default deny, the platform flows, the shared services a group of tenants consumes): at
//! 10,000 tenants, 47 MB of NetworkPolicy specs hold 5.6 MB of distinct texts, and 6.6 MB of
//! ServiceEntry specs 21 KB. The fast reader hands each such block's text to [`known`] before
//! parsing it ([`yaml::parse_with`]); a text this thread has read before for the same kind is
//! skipped, and its document gets what that text gave then. A block's value is a function of its
//! text alone (see [`yaml::Spec`]), so this reads exactly what parsing it again would.

use std::cell::RefCell;
use std::sync::Arc;

use serde::Deserialize;

use super::raw::RawSpec;
use crate::verify::tree::text::{shared_rules, shared_selector, shared_service_entry_spec};
use crate::verify::tree::yaml::{self, Value};
use crate::verify::tree::{PortValue, Rules, Selector, ServiceEntrySpec, Text};

/// Texts remembered per kind and thread; past this, the memo starts over at the next file, so
/// that a tree whose specs all differ costs a bounded amount of memory.
const MAX_TEXTS: usize = 4096;

type Memo<T> = crate::verify::HashMap<Box<str>, T>;

thread_local! {
    static POLICIES: RefCell<Memo<PolicySpec>> = RefCell::default();
    static SERVICE_ENTRIES: RefCell<Memo<Arc<ServiceEntrySpec>>> = RefCell::default();
}

/// What a NetworkPolicy's `spec` gives its [`crate::verify::tree::Policy`].
#[derive(Clone)]
pub(super) struct PolicySpec {
    pub(super) pod_selector: Arc<Selector>,
    pub(super) policy_types: Option<(bool, bool)>,
    pub(super) unknown_policy_types: Box<[Text]>,
    pub(super) ingress: Option<Rules>,
    pub(super) egress: Option<Rules>,
    pub(super) has_ingress_rules: bool,
    pub(super) has_egress_rules: bool,
}

impl PolicySpec {
    fn of(spec: RawSpec) -> Self {
        let types = spec.policy_types.as_ref().filter(|t| !t.is_empty());
        PolicySpec {
            pod_selector: shared_selector(spec.pod_selector.unwrap_or_default()),
            policy_types: types.map(|t| {
                (
                    t.iter().any(|x| x == "Ingress"),
                    t.iter().any(|x| x == "Egress"),
                )
            }),
            unknown_policy_types: spec
                .policy_types
                .iter()
                .flatten()
                .filter(|t| *t != "Ingress" && *t != "Egress")
                .cloned()
                .collect(),
            has_ingress_rules: spec.ingress.as_ref().is_some_and(|r| !r.is_empty()),
            has_egress_rules: spec.egress.as_ref().is_some_and(|r| !r.is_empty()),
            ingress: spec.ingress.map(shared_rules),
            egress: spec.egress.map(shared_rules),
        }
    }
}

/// The kinds whose spec is remembered, as `add_doc` recognises them.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Policy,
    ServiceEntry,
}

fn kind_of(api: Option<&str>, kind: Option<&str>) -> Option<Kind> {
    match (api?, kind?) {
        (api, "NetworkPolicy") if api.starts_with("networking.k8s.io/") => Some(Kind::Policy),
        (api, "ServiceEntry") if api.starts_with("networking.istio.io/") => {
            Some(Kind::ServiceEntry)
        }
        _ => None,
    }
}

/// Forgets a kind's texts once there are too many; called between files, never while one is
/// read (a document may have been skipped on the strength of a text).
pub(super) fn start_file() {
    POLICIES.with_borrow_mut(|m| {
        if m.len() >= MAX_TEXTS {
            m.clear();
        }
    });
    SERVICE_ENTRIES.with_borrow_mut(|m| {
        if m.len() >= MAX_TEXTS {
            m.clear();
        }
    });
}

/// Forgets every text (the tree holds what they gave).
pub(in crate::verify::tree) fn forget() {
    POLICIES.with_borrow_mut(std::mem::take);
    SERVICE_ENTRIES.with_borrow_mut(std::mem::take);
}

/// Whether the `spec` block `text` of a document whose entries before it are `entries` was read
/// before for the same kind: the fast reader's question ([`yaml::SkipSpec`]).
pub(super) fn known(entries: &[(std::borrow::Cow<'_, str>, Value<'_>)], text: &str) -> bool {
    let get = |key: &str| yaml::string_at(entries, key);
    match kind_of(get("apiVersion"), get("kind")) {
        Some(Kind::Policy) => POLICIES.with_borrow(|m| m.contains_key(text)),
        Some(Kind::ServiceEntry) => SERVICE_ENTRIES.with_borrow(|m| m.contains_key(text)),
        None => false,
    }
}

/// The spec of a document as it was read: its text, and whether the reader skipped it.
pub(super) type Read<'a> = Option<yaml::Spec<'a>>;

/// A skipped block's value, read again (only if the memo lost it, which `start_file` prevents).
fn reread(text: &str) -> RawSpec {
    yaml::parse(text)
        .and_then(|docs| docs.into_iter().next())
        .and_then(|v| RawSpec::deserialize(v).ok())
        .unwrap_or_default()
}

/// What the NetworkPolicy's `spec` gives: remembered when its text was skipped, else read from
/// `spec` (and remembered).
pub(super) fn policy(read: Read<'_>, spec: RawSpec) -> PolicySpec {
    let remembered = |text: &str| POLICIES.with_borrow(|m| m.get(text).cloned());
    match read {
        Some(s) if s.skipped => {
            remembered(s.text).unwrap_or_else(|| PolicySpec::of(reread(s.text)))
        }
        Some(s) => {
            let p = PolicySpec::of(spec);
            POLICIES.with_borrow_mut(|m| m.insert(s.text.into(), p.clone()));
            p
        }
        None => PolicySpec::of(spec),
    }
}

/// A ServiceEntry's `spec` as verify reads it (see [`policy`]).
pub(super) fn service_entry(read: Read<'_>, spec: RawSpec) -> Arc<ServiceEntrySpec> {
    let remembered = |text: &str| SERVICE_ENTRIES.with_borrow(|m| m.get(text).cloned());
    match read {
        Some(s) if s.skipped => remembered(s.text)
            .unwrap_or_else(|| shared_service_entry_spec(service_entry_of(reread(s.text)))),
        Some(s) => {
            let e = shared_service_entry_spec(service_entry_of(spec));
            SERVICE_ENTRIES.with_borrow_mut(|m| m.insert(s.text.into(), e.clone()));
            e
        }
        None => shared_service_entry_spec(service_entry_of(spec)),
    }
}

fn service_entry_of(spec: RawSpec) -> ServiceEntrySpec {
    let number = |p: &Option<PortValue>| match p {
        Some(PortValue::Number(n)) => Some(*n),
        // A name or a quoted number: the API server would refuse the first.
        Some(PortValue::Name(t)) => Some(t.parse::<i64>().unwrap_or(-1)),
        None => None,
    };
    let raw_ports = spec.ports.unwrap_or_default();
    ServiceEntrySpec {
        hosts: spec.hosts.unwrap_or_default(),
        addresses: spec.addresses.unwrap_or_default(),
        ports: raw_ports
            .iter()
            .filter_map(|p| match p.number {
                Some(PortValue::Number(n)) => Some(n),
                _ => None,
            })
            .collect(),
        port_specs: raw_ports
            .iter()
            .map(|p| {
                (
                    number(&p.number).unwrap_or(-1),
                    p.protocol.clone(),
                    number(&p.target_port),
                )
            })
            .collect(),
        export_to: spec.export_to,
        resolution: spec.resolution,
        location: spec.location,
        has_endpoints: spec.endpoints.is_some(),
        has_workload_selector: spec.workload_selector.is_some(),
        subject_alt_names: spec.subject_alt_names.unwrap_or_default(),
    }
}
