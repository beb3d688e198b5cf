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

/// The addresses of an external entry reached by address only, as its ServiceEntry lists them:
/// its ipBlocks less their exceptions ([`addresses_outside`]). Registering a CIDR whole would
/// register the cluster's own ranges (and the metadata and API server addresses) as outside the
/// mesh, which the NetworkPolicy excepts: traffic to them would then match this entry.
pub fn external_addresses(blocks: &[IpBlock]) -> Vec<Cidr> {
    let out: BTreeSet<Cidr> = blocks.iter().flat_map(addresses_outside).collect();
    out.into_iter().collect()
}

/// `block.cidr` less `block.except`, as the fewest CIDRs: halve the range until each half is
/// either clear of every exception (kept) or inside one (dropped).
pub fn addresses_outside(block: &IpBlock) -> Vec<Cidr> {
    fn split(net: Cidr, except: &[Cidr], out: &mut Vec<Cidr>) {
        if except.iter().any(|e| e.contains(&net)) {
            return;
        }
        if !except.iter().any(|e| net.contains(e)) {
            out.push(net);
            return;
        }
        // An exception strictly inside `net`, so `net` is not a single address and splits.
        if let Ok(halves) = net.subnets(net.prefix_len() + 1) {
            for half in halves {
                split(half, except, out);
            }
        }
    }
    let mut out = Vec::new();
    split(block.cidr, &block.except, &mut out);
    out
}

pub(super) fn external_service_entry(
    name: &ExternalName,
    e: &External,
    blocks: &[IpBlock],
) -> ServiceEntryIntent {
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
            external_addresses(blocks)
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
/// endpoints) inside it, unless the entry names a metadata address exactly. A range inside another
/// excepted range is left out: the outer one covers it.
pub fn external_blocks(
    e: &External,
    cluster: &Cluster,
    kube_api: Option<&KubeApi>,
) -> Vec<IpBlock> {
    // An entry may name a metadata address exactly (that grant is its consumers' alone); it may
    // not name an API server endpoint (resolve refuses it), which is always excepted.
    let guarded: Vec<Cidr> = METADATA_CIDRS
        .iter()
        .filter_map(|m| m.parse().ok())
        .filter(|m| !e.cidrs.contains(m))
        .chain(kube_api.into_iter().flat_map(|k| k.cidrs.iter().copied()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn block(cidr: &str, except: &[&str]) -> IpBlock {
        IpBlock {
            cidr: cidr.parse().unwrap(),
            except: except.iter().map(|e| e.parse().unwrap()).collect(),
        }
    }

    fn text(cidrs: Vec<Cidr>) -> Vec<String> {
        cidrs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_range_less_its_exceptions() {
        assert_eq!(
            text(addresses_outside(&block("203.0.113.0/24", &[]))),
            ["203.0.113.0/24"]
        );
        assert_eq!(
            text(addresses_outside(&block("10.0.0.0/8", &["10.0.0.0/9"]))),
            ["10.128.0.0/9"]
        );
        assert_eq!(
            text(addresses_outside(&block("10.0.0.0/30", &["10.0.0.1/32"]))),
            ["10.0.0.0/32", "10.0.0.2/31"]
        );
        // The default route less the cluster's ranges and the metadata address: every address
        // but those, and nothing of them.
        let all = addresses_outside(&block(
            "0.0.0.0/0",
            &["10.96.0.0/12", "10.244.0.0/16", "169.254.169.254/32"],
        ));
        assert_eq!(all.len(), 48);
        let size = |c: &Cidr| 2f64.powi(32 - i32::from(c.prefix_len()));
        let total: f64 = all.iter().map(size).sum();
        assert_eq!(total, 2f64.powi(32) - 2f64.powi(20) - 2f64.powi(16) - 1.0);
        for c in &all {
            for e in ["10.96.0.0/12", "10.244.0.0/16", "169.254.169.254/32"] {
                let e: Cidr = e.parse().unwrap();
                assert!(!c.contains(&e) && !e.contains(c), "{c} overlaps {e}");
            }
        }
    }
}
