//! `[cluster]` and `[platform]`.

use std::collections::BTreeSet;

use super::Resolver;
use crate::diag::Diagnostic;
use crate::load::{RawConfig, RawPods};
use crate::model::{
    Cluster, Dns, LabelKey, LabelValue, Labels, Monitoring, NamespaceName, Platform, PlatformPods,
    Port,
};

impl Resolver<'_> {
    pub(super) fn cluster(&mut self, raw: &RawConfig) -> Option<Cluster> {
        let name = match &raw.cluster.name {
            None => None,
            Some(n) => match LabelValue::new(&n.value) {
                Ok(v) if !n.value.is_empty() => Some(v),
                Ok(_) => {
                    self.error(Diagnostic::new(
                        "`cluster.name` must not be empty",
                        n.span.clone(),
                    ));
                    None
                }
                Err(e) => {
                    self.error(Diagnostic::new(
                        format!(
                            "`cluster.name` {:?} cannot be a label value: the {e}",
                            n.value
                        ),
                        n.span.clone(),
                    ));
                    None
                }
            },
        };
        let domain = match &raw.cluster.domain {
            None => "cluster.local".to_owned(),
            Some(d) => {
                let ok = !d.value.is_empty()
                    && d.value.split('.').all(|p| NamespaceName::new(p).is_ok());
                if !ok {
                    self.error(Diagnostic::new(
                        format!(
                            "`cluster.domain` {:?} is not a DNS domain such as \"cluster.local\"",
                            d.value
                        ),
                        d.span.clone(),
                    ));
                }
                d.value.clone()
            }
        };
        let mut ranges =
            |list: &Option<crate::load::Located<Vec<crate::load::Located<String>>>>, what| {
                list.as_ref()
                    .map(|l| self.cidrs(l, what, false))
                    .unwrap_or_default()
            };
        let pod_cidrs = ranges(&raw.cluster.pod_cidrs, "`cluster.pod_cidrs`");
        let service_cidrs = ranges(&raw.cluster.service_cidrs, "`cluster.service_cidrs`");
        let server = raw.cluster.server.as_ref().and_then(|s| self.server(s));
        Some(Cluster {
            name,
            domain,
            pod_cidrs,
            service_cidrs,
            server,
        })
    }

    /// An API server URL as Argo CD names a cluster: `https://host[:port][/path]`, nothing that
    /// a YAML scalar or a log would read differently, and no credential.
    fn server(&mut self, s: &crate::load::Located<String>) -> Option<String> {
        let v = &s.value;
        let rest = v
            .strip_prefix("https://")
            .or_else(|| v.strip_prefix("http://"));
        let authority = rest.map(|r| r.split('/').next().unwrap_or(""));
        let problem = match (rest, authority) {
            (None, _) => Some("it must begin with https://"),
            (_, Some("")) => Some("it names no host"),
            (_, Some(a)) if a.contains('@') => {
                Some("it carries a credential, which tenantc would write into Git")
            }
            _ if v.len() > 2048 => Some("it is longer than 2048 characters"),
            _ if v.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(c, '"' | '\\' | '#' | '{' | '}' | '`')
            }) =>
            {
                Some("it holds a space, a quote, a control character or one of # { } `")
            }
            _ => None,
        };
        match problem {
            None => Some(v.clone()),
            Some(p) => {
                self.error(
                    Diagnostic::new(format!("`server` {v:?} is not an API server URL: {p}"), s.span.clone())
                        .with_help("give the cluster's API server as Argo CD knows it, such as \"https://prod-eu.example.com\" (`argocd cluster list`)"),
                );
                None
            }
        }
    }

    fn platform_pods(&mut self, raw: &RawPods, what: &str) -> Option<PlatformPods> {
        let namespace = match &raw.namespace {
            Some(ns) => self.namespace("namespace", ns),
            None => {
                self.error(
                    Diagnostic::new(
                        format!("[platform.{what}] needs a `namespace`"),
                        raw.span.clone(),
                    )
                    .with_help("add namespace = \"...\", the namespace its pods run in"),
                );
                None
            }
        };
        let pod_labels = self.labels(raw.pod_labels.as_ref(), "pod label", &BTreeSet::new());
        Some(PlatformPods {
            namespace: namespace?,
            pod_labels,
            in_mesh: raw.mesh.as_ref().is_some_and(|m| m.value),
        })
    }

    pub(super) fn platform(&mut self, raw: &RawConfig) -> Option<Platform> {
        let p = &raw.platform;
        let dns = match &p.dns {
            None => Some(default_dns()),
            Some(d) => {
                let namespace = match &d.namespace {
                    Some(ns) => self.namespace("namespace", ns),
                    None => NamespaceName::new("kube-system").ok(),
                };
                let service = match &d.service {
                    Some(s) => self.namespace("service", s),
                    None => NamespaceName::new("kube-dns").ok(),
                };
                let pod_labels = match &d.pod_labels {
                    Some(map) => self.labels(Some(map), "pod label", &BTreeSet::new()),
                    None => default_dns().pod_labels,
                };
                let ports = match &d.ports {
                    Some(list) => self.ports(list, "[platform.dns] ports", false, &d.span),
                    None => default_dns().ports,
                };
                let cidrs = d
                    .cidrs
                    .as_ref()
                    .map(|l| self.cidrs(l, "[platform.dns] cidrs", true))
                    .unwrap_or_default();
                match (namespace, service) {
                    (Some(namespace), Some(service)) => Some(Dns {
                        namespace,
                        service,
                        pod_labels,
                        ports,
                        cidrs,
                    }),
                    _ => None,
                }
            }
        };
        let ingress = p.ingress.as_ref().map(|i| self.platform_pods(i, "ingress"));
        let monitoring = p.monitoring.as_ref().map(|m| {
            let pods = self.platform_pods(m, "monitoring");
            let ports = self.ports(
                m.ports.as_deref().unwrap_or_default(),
                "[platform.monitoring] ports",
                true,
                &m.span,
            );
            pods.map(|pods| Monitoring { pods, ports })
        });
        let kube_api = p.kube_api.as_ref().map(|k| self.kube_api(k));
        Some(Platform {
            kube_api: match kube_api {
                Some(None) => return None,
                Some(Some(k)) => Some(k),
                None => None,
            },
            dns: dns?,
            ingress: match ingress {
                Some(None) => return None,
                Some(Some(i)) => Some(i),
                None => None,
            },
            monitoring: match monitoring {
                Some(None) => return None,
                Some(Some(m)) => Some(m),
                None => None,
            },
        })
    }
}

pub(super) fn label(k: &str, v: &str) -> (LabelKey, LabelValue) {
    (
        LabelKey::new(k).expect("static label key"),
        LabelValue::new(v).expect("static label value"),
    )
}

/// `[platform.dns]` when the file leaves it out: CoreDNS as kubeadm, EKS, GKE and AKS deploy it.
pub fn default_dns() -> Dns {
    Dns {
        namespace: NamespaceName::new("kube-system").expect("static name"),
        service: NamespaceName::new("kube-dns").expect("static name"),
        pod_labels: [label("k8s-app", "kube-dns")].into_iter().collect(),
        ports: [Port::known(53)].into_iter().collect(),
        cidrs: BTreeSet::new(),
    }
}

/// The labels of istiod's pods in Istio's Helm charts and istioctl profiles.
pub fn istiod_labels() -> Labels {
    [label("app", "istiod")].into_iter().collect()
}
