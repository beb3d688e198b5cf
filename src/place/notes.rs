//! Where an error of one cluster's view also points: the cluster's own `[mesh]` or `[platform]`
//! keys that make a top-level key invalid there.

use std::ops::Range;

use crate::diag::Diagnostic;
use crate::load::{RawClusterEntry, RawConfig, RawMesh, RawPlatform};

/// The spans of the values of a `[mesh]` table's keys (a table's own span may be its header).
fn mesh_spans(m: &RawMesh) -> Vec<Range<usize>> {
    let strings = [
        &m.namespace,
        &m.revision,
        &m.outbound_traffic_policy,
        &m.mode,
        &m.mtls,
    ];
    let mut spans: Vec<Range<usize>> = strings
        .into_iter()
        .flatten()
        .map(|l| l.span.clone())
        .collect();
    spans.extend(m.authorization.iter().map(|l| l.span.clone()));
    for (k, v) in m.pod_labels.iter().flatten() {
        spans.push(k.span.start..v.span.end);
    }
    spans.push(m.span.clone());
    spans
}

/// Notes for a diagnostic of `cluster`'s view that points into the top-level `[mesh]` or
/// `[platform]`: the cluster's own table, whose keys replace some of those, takes part, so the
/// error points at both.
pub fn notes_for(raw: &RawConfig, cluster: &RawClusterEntry, d: &mut Diagnostic) {
    let overlaps = |span: &Range<usize>| span.start <= d.span.start && d.span.end <= span.end;
    if let (Some(top), Some(c)) = (&raw.mesh, &cluster.mesh) {
        let in_top = mesh_spans(top).iter().any(overlaps);
        let in_cluster = mesh_spans(c).iter().any(overlaps);
        if in_top && !in_cluster {
            let at = mesh_spans(c)
                .into_iter()
                .find(|s| s != &c.span)
                .unwrap_or_else(|| c.span.clone());
            d.notes.push((
                at,
                format!(
                    "cluster `{}` replaces these [mesh] keys",
                    cluster.name.value
                ),
            ));
        }
    }
    if let (Some(span), Some(p)) = (&cluster.platform_span, &cluster.platform) {
        let spans = |p: &RawPlatform| -> Vec<Range<usize>> {
            [
                p.dns.as_ref().map(|x| x.span.clone()),
                p.ingress.as_ref().map(|x| x.span.clone()),
                p.monitoring.as_ref().map(|x| x.span.clone()),
                p.kube_api.as_ref().map(|x| x.span.clone()),
            ]
            .into_iter()
            .flatten()
            .collect()
        };
        if spans(&raw.platform).iter().any(overlaps) && !spans(p).iter().any(overlaps) {
            let at = spans(p).into_iter().next().unwrap_or_else(|| span.clone());
            d.notes.push((
                at,
                format!(
                    "cluster `{}` replaces these [platform] keys",
                    cluster.name.value
                ),
            ));
        }
    }
}
