//! Port sets as tenantc lists them: numbered TCP ports, an empty list for every port.

use crate::verify::layer::netpol::{PortSet, Protocol};

/// TCP ports of `p` as tenantc lists them: empty for every port. `None` when `p` has ports of
/// other protocols, or ranges too wide to list.
pub(super) fn tcp_list(p: &PortSet) -> Option<Vec<u16>> {
    if p.is_all() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for (proto, lo, hi) in p.ranges() {
        if proto != Protocol::Tcp || usize::from(hi - lo) >= 256 {
            return None;
        }
        out.extend(lo..=hi);
    }
    Some(out)
}

/// The TCP part of `p` that tenantc can list, and whether anything was left out.
pub(super) fn tcp_part(p: &PortSet) -> (Vec<u16>, bool) {
    if p.is_all() {
        return (Vec::new(), false);
    }
    let mut out = Vec::new();
    let mut dropped = false;
    for (proto, lo, hi) in p.ranges() {
        if proto != Protocol::Tcp || usize::from(hi - lo) >= 256 {
            dropped = true;
            continue;
        }
        out.extend(lo..=hi);
    }
    (out, dropped)
}

pub(super) fn ports_text(p: &[u16]) -> String {
    if p.is_empty() {
        "every port".into()
    } else {
        p.iter()
            .map(|x| format!("TCP/{x}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
