//! Flows out of the cluster: to external entries (ipBlocks and ServiceEntries) and to the
//! Kubernetes API server.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Cidr, Cluster, Config, External, ExternalName, KubeApi, METADATA_CIDRS};

use super::{
    IpBlock, OutsideFlow, Rule, ServiceEntryIntent, ServiceEntryPort, ADDRESS_ONLY_DOMAIN,
    KUBE_API_TARGET,
};

/// The flow to the Kubernetes API server: its own addresses, named exactly, nothing to except.
pub(super) fn kube_api_flow(k: &KubeApi) -> OutsideFlow {
    OutsideFlow {
        rule: Rule::KubeApi,
        hosts: Vec::new(),
        blocks: k
            .cidrs
            .iter()
            .map(|c| IpBlock {
                cidr: *c,
                except: Vec::new(),
            })
            .collect(),
        ports: k.ports.clone(),
    }
}

pub(super) fn external_service_entry(name: &ExternalName, e: &External) -> ServiceEntryIntent {
    let by_address = e.hosts.is_empty();
    // Without names to match on, traffic is matched by address and port: plain TCP.
    let protocol = if by_address {
        "TCP"
    } else {
        e.protocol.as_str()
    };
    let wildcard = e.hosts.iter().any(|h| h.starts_with("*."));
    ServiceEntryIntent {
        name: format!("external-{name}"),
        purpose: format!("[external.{name}]"),
        hosts: if by_address {
            vec![format!("{name}.{ADDRESS_ONLY_DOMAIN}")]
        } else {
            e.hosts.iter().cloned().collect()
        },
        addresses: if by_address {
            e.cidrs.iter().copied().collect()
        } else {
            Vec::new()
        },
        ports: e
            .ports
            .iter()
            .map(|p| ServiceEntryPort {
                number: *p,
                name: format!("{}-{p}", protocol.to_ascii_lowercase()),
                protocol,
            })
            .collect(),
        // Istio resolves names itself with DNS; a wildcard or an address goes to the original
        // destination (https://istio.io/latest/docs/reference/config/networking/service-entry/).
        resolution: if by_address || wildcard {
            "NONE"
        } else {
            "DNS"
        },
    }
}

/// The ipBlocks of an external entry: each CIDR less the cluster's ranges and the addresses that
/// must never open by accident (the cloud metadata addresses and the Kubernetes API server's
/// endpoints) inside it, unless the entry names such an address exactly. A range inside another
/// excepted range is left out: the outer one covers it.
pub fn external_blocks(
    e: &External,
    cluster: &Cluster,
    kube_api: Option<&KubeApi>,
) -> Vec<IpBlock> {
    let guarded: Vec<Cidr> = METADATA_CIDRS
        .iter()
        .filter_map(|m| m.parse().ok())
        .chain(kube_api.into_iter().flat_map(|k| k.cidrs.iter().copied()))
        .filter(|m| !e.cidrs.contains(m))
        .collect();
    e.cidrs
        .iter()
        .map(|cidr| {
            let inside: BTreeSet<Cidr> = cluster
                .ranges()
                .chain(&guarded)
                .filter(|r| *r != cidr && cidr.contains(*r))
                .copied()
                .collect();
            let except: BTreeSet<Cidr> = inside
                .iter()
                .filter(|r| !inside.iter().any(|o| o != *r && o.contains(*r)))
                .copied()
                .collect();
            IpBlock {
                cidr: *cidr,
                except: except.into_iter().collect(),
            }
        })
        .collect()
}

/// Every destination outside the cluster by the name `explain` knows it by (an external entry's
/// name, or [`KUBE_API_TARGET`]), as a consumer of it gets it.
pub(super) fn destinations_of(config: &Config) -> BTreeMap<String, OutsideFlow> {
    let kube_api = config.platform.kube_api.as_ref();
    let mut destinations: BTreeMap<String, OutsideFlow> = config
        .externals
        .iter()
        .map(|(name, e)| {
            let flow = OutsideFlow {
                rule: Rule::External { name: name.clone() },
                hosts: e.hosts.iter().cloned().collect(),
                blocks: external_blocks(e, &config.cluster, kube_api),
                ports: e.ports.clone(),
            };
            (name.to_string(), flow)
        })
        .collect();
    if let Some(k) = kube_api {
        destinations.insert(KUBE_API_TARGET.into(), kube_api_flow(k));
    }
    destinations
}
