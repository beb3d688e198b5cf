//! `[external.<name>]`: destinations outside the cluster.

use std::collections::BTreeSet;

use super::{Cidr, Consumers, Port};

/// The protocol of an external destination's ports, as Istio's ServiceEntry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExternalProtocol {
    Tls,
    Https,
    Http,
    Tcp,
}

impl ExternalProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "TLS",
            Self::Https => "HTTPS",
            Self::Http => "HTTP",
            Self::Tcp => "TCP",
        }
    }
}

/// `[external.<name>]`: a destination outside the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct External {
    /// DNS names (`*.example.com` allowed with TLS or TCP); empty: reached by address only.
    pub hosts: BTreeSet<String>,
    /// Where NetworkPolicy lets the traffic go.
    pub cidrs: BTreeSet<Cidr>,
    /// TCP ports.
    pub ports: BTreeSet<Port>,
    pub protocol: ExternalProtocol,
    pub consumers: Consumers,
}
