//! Sets of IP addresses, for ipBlocks: a `cidr` less its `except` ranges, unions and differences,
//! kept as sorted, disjoint, inclusive intervals per address family.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Addresses of both families: IPv4 as `u128` intervals below 2^32, IPv6 in their own list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpSet {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
}

fn bounds(net: &IpNet) -> (bool, u128, u128) {
    match net {
        IpNet::V4(n) => (
            false,
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (true, u128::from(n.network()), u128::from(n.broadcast())),
    }
}

fn normalize(list: &mut Vec<(u128, u128)>) {
    list.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(list.len());
    for &(lo, hi) in list.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *list = out;
}

/// The parts of the inclusive intervals `a` that no interval of `b` covers, in the order of `a`
/// (addresses here, and the port ranges of a `PortSet`).
pub(crate) fn minus(a: &[(u128, u128)], b: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    for &(lo, hi) in a {
        let mut pieces = vec![(lo, hi)];
        for &(blo, bhi) in b {
            pieces = pieces
                .into_iter()
                .flat_map(|(x, y)| {
                    let mut keep = Vec::new();
                    if bhi < x || blo > y {
                        keep.push((x, y));
                    } else {
                        if blo > x {
                            keep.push((x, blo - 1));
                        }
                        if bhi < y {
                            keep.push((bhi + 1, y));
                        }
                    }
                    keep
                })
                .collect();
        }
        out.extend(pieces);
    }
    out
}

impl IpSet {
    pub fn of(net: &IpNet) -> Self {
        let mut s = Self::default();
        s.add(net);
        s
    }

    /// What an ipBlock admits: `cidr` less every `except` range. Unparsable text yields nothing
    /// (the API server rejects such a policy; `reach` reports it).
    pub fn of_block<S: AsRef<str>>(cidr: &str, except: &[S]) -> Option<Self> {
        let net: IpNet = cidr.parse().ok()?;
        let mut s = Self::of(&net);
        for e in except {
            let e: IpNet = e.as_ref().parse().ok()?;
            s = s.minus(&Self::of(&e));
        }
        Some(s)
    }

    pub fn add(&mut self, net: &IpNet) {
        let (v6, lo, hi) = bounds(net);
        let list = if v6 { &mut self.v6 } else { &mut self.v4 };
        list.push((lo, hi));
        normalize(list);
    }

    pub fn union_with(&mut self, other: &Self) {
        self.v4.extend_from_slice(&other.v4);
        self.v6.extend_from_slice(&other.v6);
        normalize(&mut self.v4);
        normalize(&mut self.v6);
    }

    pub fn minus(&self, other: &Self) -> Self {
        Self {
            v4: minus(&self.v4, &other.v4),
            v6: minus(&self.v6, &other.v6),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn covers(&self, other: &Self) -> bool {
        other.minus(self).is_empty()
    }

    pub fn overlaps(&self, other: &Self) -> bool {
        !self.minus(&self.minus(other)).is_empty()
    }

    /// The smallest list of CIDRs that is exactly this set.
    pub fn to_cidrs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (v6, list) in [(false, &self.v4), (true, &self.v6)] {
            let width: u32 = if v6 { 128 } else { 32 };
            for &(lo, hi) in list {
                let mut start = lo;
                loop {
                    // The largest aligned block at `start` that stays within `hi`.
                    let mut size = if start == 0 {
                        width
                    } else {
                        start.trailing_zeros().min(width)
                    };
                    // The last address of the block of 2^size at `start` (2^128 does not fit).
                    let last = |size: u32| {
                        1u128
                            .checked_shl(size)
                            .map_or(u128::MAX, |n| start + (n - 1))
                    };
                    while size > 0 && last(size) > hi {
                        size -= 1;
                    }
                    let addr = if v6 {
                        IpAddr::V6(Ipv6Addr::from(start))
                    } else {
                        IpAddr::V4(Ipv4Addr::from(start as u32))
                    };
                    out.push(format!("{addr}/{}", width - size));
                    let end = last(size);
                    if end >= hi {
                        break;
                    }
                    start = end + 1;
                }
            }
        }
        out
    }
}

impl fmt::Display for IpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 6;
        let cidrs = self.to_cidrs();
        let shown: Vec<&str> = cidrs.iter().take(SHOWN).map(String::as_str).collect();
        write!(f, "{}", shown.join(", "))?;
        if cidrs.len() > SHOWN {
            write!(f, " and {} more ranges", cidrs.len() - SHOWN)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cidr: &str, except: &[&str]) -> IpSet {
        let except: Vec<String> = except.iter().map(|s| s.to_string()).collect();
        IpSet::of_block(cidr, &except).unwrap()
    }

    #[test]
    fn blocks_less_their_exceptions() {
        let s = set("0.0.0.0/0", &["10.0.0.0/8", "169.254.169.254/32"]);
        assert!(!s.covers(&set("10.1.0.0/16", &[])));
        assert!(s.covers(&set("8.8.8.8/32", &[])));
        assert!(!s.covers(&set("169.254.169.254/32", &[])));
        assert!(s.covers(&set("169.254.169.253/32", &[])));
        let widened = set("203.0.113.0/24", &[]).minus(&set("203.0.113.10/32", &[]));
        assert_eq!(
            widened.to_cidrs(),
            [
                "203.0.113.0/29",
                "203.0.113.8/31",
                "203.0.113.11/32",
                "203.0.113.12/30",
                "203.0.113.16/28",
                "203.0.113.32/27",
                "203.0.113.64/26",
                "203.0.113.128/25"
            ]
        );
        assert_eq!(set("0.0.0.0/0", &[]).to_cidrs(), ["0.0.0.0/0"]);
        assert_eq!(set("::/0", &[]).to_cidrs(), ["::/0"]);
        assert!(IpSet::of_block::<&str>("10.0.0.0/33", &[]).is_none());
    }

    #[test]
    fn families_stay_apart() {
        let v4 = set("0.0.0.0/0", &[]);
        let v6 = set("fd00:ec2::254/128", &[]);
        assert!(!v4.covers(&v6));
        let mut both = v4.clone();
        both.union_with(&v6);
        assert!(both.covers(&v6) && both.covers(&v4));
        assert!(!v4.overlaps(&v6));
    }
}
