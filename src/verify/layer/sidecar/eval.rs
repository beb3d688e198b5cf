//! Istio Sidecar semantics: which namespaces' services a sidecar receives configuration for.
//! https://istio.io/latest/docs/reference/config/networking/sidecar/ : hosts are
//! `namespace/dnsName`; namespace `*` is every namespace, `.` the Sidecar's own, `~` none;
//! dnsName `*` is every service of that namespace. A namespace without a selector-less Sidecar
//! gets the one of the root namespace (the mesh namespace), else no limit at all.

use std::collections::BTreeSet;

/// One egress host, with `.` already replaced by the Sidecar's namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// `*/dnsName`: that name in every namespace (`*/*`: everything).
    AnyNamespace(String),
    /// `~/...`: imports nothing.
    NoNamespace,
    /// `ns/dnsName`.
    In(String, String),
}

pub fn parse_host(host: &str, own_namespace: &str) -> Result<Host, String> {
    let Some((ns, dns)) = host.split_once('/') else {
        return Err(format!(
            "host `{host}` is not in `namespace/dnsName` form (Istio rejects it)"
        ));
    };
    if dns.is_empty() || ns.is_empty() {
        return Err(format!("host `{host}` has an empty namespace or name"));
    }
    Ok(match ns {
        "*" => Host::AnyNamespace(dns.to_owned()),
        "~" => Host::NoNamespace,
        "." => Host::In(own_namespace.to_owned(), dns.to_owned()),
        ns => Host::In(ns.to_owned(), dns.to_owned()),
    })
}

/// What a set of hosts imports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub hosts: BTreeSet<Host>,
}

impl Scope {
    pub fn from_hosts(hosts: impl IntoIterator<Item = Host>) -> Self {
        Self {
            hosts: hosts.into_iter().collect(),
        }
    }

    /// Imports something from every namespace (`*/...`).
    pub fn is_unbounded(&self) -> bool {
        self.hosts
            .iter()
            .any(|h| matches!(h, Host::AnyNamespace(_)))
    }

    /// Whether some service of namespace `ns` is imported.
    pub fn imports_namespace(&self, ns: &str) -> bool {
        self.hosts.iter().any(|h| match h {
            Host::AnyNamespace(_) => true,
            Host::In(n, _) => n == ns,
            Host::NoNamespace => false,
        })
    }

    /// Whether `host` is imported, entirely.
    pub fn covers(&self, host: &Host) -> bool {
        match host {
            Host::NoNamespace => true,
            Host::AnyNamespace(d) => self
                .hosts
                .iter()
                .any(|h| matches!(h, Host::AnyNamespace(x) if x == "*" || x == d)),
            Host::In(ns, d) => self.covers_in(ns, d),
        }
    }

    /// Whether the scope imports host `dns` of namespace `ns` (`covers` of `ns/dns`).
    pub fn covers_in(&self, ns: &str, dns: &str) -> bool {
        self.hosts.iter().any(|h| match h {
            Host::AnyNamespace(x) => x == "*" || x == dns,
            Host::In(n, x) => n == ns && (x == "*" || x == dns),
            Host::NoNamespace => false,
        })
    }

    /// How many namespaces are imported from (unbounded scopes aside): [`Scope::namespaces`]'
    /// length, counted without collecting them. The hosts are sorted, so those of one namespace
    /// follow each other.
    pub fn namespace_count(&self) -> usize {
        let mut last: Option<&str> = None;
        let mut count = 0;
        for h in &self.hosts {
            if let Host::In(n, _) = h {
                if last != Some(n.as_str()) {
                    count += 1;
                    last = Some(n);
                }
            }
        }
        count
    }

    /// The namespaces imported from, by name (unbounded scopes aside).
    pub fn namespaces(&self) -> BTreeSet<&str> {
        self.hosts
            .iter()
            .filter_map(|h| match h {
                Host::In(n, _) => Some(n.as_str()),
                _ => None,
            })
            .collect()
    }
}

pub fn host_text(h: &Host) -> String {
    match h {
        Host::AnyNamespace(d) => format!("*/{d}"),
        Host::NoNamespace => "~/*".into(),
        Host::In(n, d) => format!("{n}/{d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_count_is_the_number_of_namespaces() {
        let scope = Scope::from_hosts(
            ["b/x", "a/y", "*/z", "b/*", "~/*", "a/x", "c/q.svc", "./w"]
                .iter()
                .map(|h| parse_host(h, "own").unwrap()),
        );
        assert_eq!(scope.namespace_count(), scope.namespaces().len());
        assert_eq!(scope.namespace_count(), 4);
        assert_eq!(Scope::default().namespace_count(), 0);
    }

    #[test]
    fn host_forms() {
        assert_eq!(
            parse_host("./*", "acme"),
            Ok(Host::In("acme".into(), "*".into()))
        );
        assert_eq!(parse_host("~/*", "acme"), Ok(Host::NoNamespace));
        assert_eq!(
            parse_host("*/*", "acme"),
            Ok(Host::AnyNamespace("*".into()))
        );
        assert!(parse_host("payments", "acme").is_err());
        let scope = Scope::from_hosts([
            parse_host("payments/*", "acme").unwrap(),
            parse_host("kube-system/kube-dns.kube-system.svc.cluster.local", "acme").unwrap(),
        ]);
        assert!(scope.covers(&Host::In("payments".into(), "api.payments".into())));
        assert!(!scope.covers(&Host::In("kube-system".into(), "*".into())));
        assert!(scope.imports_namespace("kube-system"));
        assert!(!scope.imports_namespace("globex"));
        let all = Scope::from_hosts([Host::AnyNamespace("*".into())]);
        assert!(all.is_unbounded() && all.covers(&Host::In("x".into(), "*".into())));
        let none = Scope::from_hosts([Host::NoNamespace]);
        assert!(!none.imports_namespace("acme"));
    }
}
