//! Who may do what in a namespace, how much it may consume and how safely: RBAC subjects and
//! levels, Pod Security, quotas and container defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::names::{check_dns_subdomain, check_qualified_name, checked_string};
use super::NamespaceName;

/// Who may do what in a namespace, how much it may consume and how safely: `owners`, `editors`,
/// `viewers`, `pod_security`, `quota` and `container_defaults` of a tenant or shared entry, with
/// `[defaults]` applied. Empty (the default) writes nothing, so a config without these keys
/// compiles to the same bytes as before.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Access {
    /// Bound to the ClusterRole `admin`, `edit` and `view` in each of its namespaces; sorted,
    /// each subject once (a list, not a set: a set's node was most of the memory of a
    /// 10,000-tenant config's access keys).
    pub owners: Vec<Subject>,
    pub editors: Vec<Subject>,
    pub viewers: Vec<Subject>,
    /// The Pod Security Admission level enforced, with its pinned version.
    pub pod_security: Option<PodSecurity>,
    /// `spec.hard` of the ResourceQuota `tenantc`; empty: no ResourceQuota.
    pub quota: Quantities,
    /// The LimitRange `tenantc` (type Container); both empty: no LimitRange.
    pub default_request: Quantities,
    pub default_limit: Quantities,
}

/// Resource names and their quantities, shared: the entries that do not override `[defaults]`
/// (most of them) hold its maps, not copies, from `resolve` to `render`.
pub type Quantities = Arc<BTreeMap<ResourceName, Quantity>>;

impl Access {
    /// The subjects bound at `level`.
    pub fn subjects(&self, level: AccessLevel) -> &[Subject] {
        match level {
            AccessLevel::Owner => &self.owners,
            AccessLevel::Editor => &self.editors,
            AccessLevel::Viewer => &self.viewers,
        }
    }
}

/// The three levels of access a tenant's people get, each bound to one built-in ClusterRole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    Owner,
    Editor,
    Viewer,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 3] = [Self::Owner, Self::Editor, Self::Viewer];

    /// The ClusterRole bound: Kubernetes' user-facing roles, aggregated by every CRD that
    /// declares its own (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles).
    pub fn cluster_role(self) -> &'static str {
        match self {
            Self::Owner => "admin",
            Self::Editor => "edit",
            Self::Viewer => "view",
        }
    }

    /// The RoleBinding's name.
    pub fn binding(self) -> &'static str {
        match self {
            Self::Owner => "tenantc-owners",
            Self::Editor => "tenantc-editors",
            Self::Viewer => "tenantc-viewers",
        }
    }

    /// The tenants.toml key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Owner => "owners",
            Self::Editor => "editors",
            Self::Viewer => "viewers",
        }
    }

    /// What the level may do, in `diff`'s and `access`'s words (`may now edit acme`).
    pub fn verb(self) -> &'static str {
        match self {
            Self::Owner => "administer",
            Self::Editor => "edit",
            Self::Viewer => "view",
        }
    }

    pub fn of_cluster_role(role: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.cluster_role() == role)
    }
}

/// A subject of a RoleBinding: `group:NAME`, `user:NAME` or `serviceaccount:NS/NAME`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Group(Arc<str>),
    User(Arc<str>),
    ServiceAccount {
        namespace: NamespaceName,
        name: Arc<str>,
    },
}

impl Subject {
    /// Parses `group:NAME`, `user:NAME` or `serviceaccount:NS/NAME`; the error says which form
    /// was expected.
    pub fn parse(s: &str) -> Result<Self, String> {
        let forms = "`group:NAME`, `user:NAME` or `serviceaccount:NAMESPACE/NAME`";
        // The kinds by their prefix, cheaper than a search for the `:`.
        let split = [
            ("group", "group:"),
            ("user", "user:"),
            ("serviceaccount", "serviceaccount:"),
        ]
        .into_iter()
        .find_map(|(kind, prefix)| Some((kind, s.strip_prefix(prefix)?)))
        .or_else(|| s.split_once(':'));
        let Some((kind, rest)) = split else {
            return Err(format!("is not a subject: write {forms}"));
        };
        let named = |what: &str| -> Result<Arc<str>, String> {
            if rest.is_empty() {
                Err(format!("names no {what} after `{kind}:`"))
            } else if rest.trim().len() != rest.len() {
                Err(format!("has spaces around the {what}'s name"))
            } else {
                Ok(Arc::from(rest))
            }
        };
        match kind {
            "group" => named("group").map(Self::Group),
            "user" => named("user").map(Self::User),
            "serviceaccount" => {
                let (ns, name) = rest.split_once('/').ok_or_else(|| {
                    "names a service account without its namespace: write `serviceaccount:NAMESPACE/NAME`"
                        .to_owned()
                })?;
                let namespace = NamespaceName::new(ns)
                    .map_err(|e| format!("has the invalid namespace `{ns}`: it {e}"))?;
                check_dns_subdomain(name)
                    .map_err(|e| format!("has the invalid service account name `{name}`: {e}"))?;
                if name.is_empty() {
                    return Err("names no service account after the namespace".into());
                }
                Ok(Self::ServiceAccount {
                    namespace,
                    name: Arc::from(name),
                })
            }
            other => Err(format!("has the unknown kind `{other}`: write {forms}")),
        }
    }

    /// The RBAC subject kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Group(_) => "Group",
            Self::User(_) => "User",
            Self::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Group(n) | Self::User(n) => n,
            Self::ServiceAccount { name, .. } => name,
        }
    }

    pub fn namespace(&self) -> Option<&NamespaceName> {
        match self {
            Self::ServiceAccount { namespace, .. } => Some(namespace),
            _ => None,
        }
    }

    /// In `diff`'s and `access`'s words: `group acme-devs`, `user alice@example.com`,
    /// `serviceaccount ci/deployer`.
    pub fn describe(&self) -> String {
        match self {
            Self::Group(n) => format!("group {n}"),
            Self::User(n) => format!("user {n}"),
            Self::ServiceAccount { namespace, name } => {
                format!("serviceaccount {namespace}/{name}")
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Group(n) => write!(f, "group:{n}"),
            Self::User(n) => write!(f, "user:{n}"),
            Self::ServiceAccount { namespace, name } => {
                write!(f, "serviceaccount:{namespace}/{name}")
            }
        }
    }
}

/// A Pod Security Standards level (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    Privileged,
    Baseline,
    Restricted,
}

impl PodSecurityLevel {
    pub const ALL: [PodSecurityLevel; 3] = [Self::Privileged, Self::Baseline, Self::Restricted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The level enforced and the version of the standards it is pinned to (`latest` or `v1.N`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodSecurity {
    pub level: PodSecurityLevel,
    pub version: Arc<str>,
}

/// Checks a Pod Security Admission version: `latest` or `v1.N`.
pub fn check_pod_security_version(s: &str) -> Result<(), String> {
    if s == "latest" {
        return Ok(());
    }
    match s.strip_prefix("v1.") {
        Some(minor)
            if !minor.is_empty()
                && minor.len() <= 3
                && minor.bytes().all(|b| b.is_ascii_digit())
                && (minor == "0" || !minor.starts_with('0')) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{s}` is not a Pod Security Standards version: write `latest` or `v1.N` (such as `v1.32`)"
        )),
    }
}

checked_string!(
    /// A Kubernetes resource name as a quota or a container default names it: `cpu`,
    /// `requests.memory`, `pods`, `count/deployments.apps`, `requests.nvidia.com/gpu`.
    ResourceName,
    check_resource_name
);
checked_string!(
    /// A Kubernetes quantity (`8`, `500m`, `32Gi`, `1.5`, `1e3`), as the API server parses it.
    Quantity,
    check_quantity
);

/// The quota resource names Kubernetes knows without a `/` (core/v1 ResourceName constants and
/// the object counts of https://kubernetes.io/docs/concepts/policy/resource-quotas/).
pub const QUOTA_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "requests.storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "services.loadbalancers",
    "services.nodeports",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
];

/// The container resources a LimitRange defaults, without a `/`.
pub const CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

fn check_resource_name(s: &str) -> Result<(), String> {
    check_qualified_name(s)?;
    let hugepages = s
        .strip_prefix("hugepages-")
        .or_else(|| s.strip_prefix("requests.hugepages-"))
        .or_else(|| s.strip_prefix("limits.hugepages-"))
        .is_some_and(|size| check_quantity(size).is_ok());
    if s.contains('/') || hugepages || QUOTA_RESOURCES.contains(&s) {
        Ok(())
    } else {
        Err(format!("`{s}` is not a Kubernetes resource name"))
    }
}

/// Kubernetes' quantity grammar (k8s.io/apimachinery `resource.ParseQuantity`): a non-negative
/// decimal number, then a binary suffix (`Ki` .. `Ei`), a decimal one (`n`, `u`, `m`, `k`, `M`,
/// `G`, `T`, `P`, `E`) or an exponent (`e3`, `E-2`).
fn check_quantity(s: &str) -> Result<(), String> {
    let bad = || Err(format!("`{s}` is not a Kubernetes quantity"));
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(digits_end);
    let dots = number.matches('.').count();
    if number.is_empty() || number == "." || dots > 1 {
        return bad();
    }
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|e| !e.is_empty() && e.len() <= 3 && e.bytes().all(|b| b.is_ascii_digit()));
    if suffix_ok {
        Ok(())
    } else {
        bad()
    }
}

impl Quantity {
    /// The number the quantity stands for (`100m` = 0.1, `1Gi` = 1073741824, `1e3` = 1000), to
    /// compare two quantities as the API server does. Exact for the quantities people write;
    /// compare with [`Quantity::exceeds`], which allows for the rounding of decimal fractions.
    pub fn value(&self) -> f64 {
        let body = self.as_str().strip_prefix('+').unwrap_or(self.as_str());
        let end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (number, suffix) = body.split_at(end);
        let number: f64 = number.parse().unwrap_or(0.0);
        let scale = match suffix {
            "" => 1.0,
            "Ki" => 1024f64,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            "n" => 1e-9,
            "u" => 1e-6,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            exponent => 10f64.powi(exponent[1..].parse().unwrap_or(0)),
        };
        number * scale
    }

    /// Whether this quantity is greater than `other`, numerically (`2` exceeds `1500m`, `1Gi`
    /// exceeds `1000Mi`, `100m` does not exceed `0.1`).
    pub fn exceeds(&self, other: &Quantity) -> bool {
        let (a, b) = (self.value(), other.value());
        a > b && (a - b) > b.abs() * 1e-12
    }
}

/// What a quantity written the way people say it was meant to be: `"8 cores"` → `8`, `"512 MiB"`
/// → `512Mi`, `"2GB"` → `2G`; `None` when no guess is sure.
pub fn suggest_quantity(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(end);
    if number.is_empty() {
        return None;
    }
    let suffix = match unit.to_ascii_lowercase().as_str() {
        "" | "core" | "cores" | "cpu" | "cpus" | "vcpu" | "vcpus" => "",
        "m" | "millicore" | "millicores" | "millicpu" => "m",
        "ki" | "kib" => "Ki",
        "mi" | "mib" => "Mi",
        "gi" | "gib" => "Gi",
        "ti" | "tib" => "Ti",
        "k" | "kb" => "k",
        "mb" => "M",
        "g" | "gb" => "G",
        "t" | "tb" => "T",
        _ => return None,
    };
    let out = format!("{number}{suffix}");
    (check_quantity(&out).is_ok() && out != s).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_compare_by_value() {
        let q = |s: &str| Quantity::new(s).unwrap();
        for (big, small) in [
            ("1", "100m"),
            ("2", "1500m"),
            ("1Gi", "1000Mi"),
            ("1G", "999M"),
            ("1Ki", "1k"),
            ("1e3", "999"),
            ("1.5", "1"),
            ("2E", "1Ei"),
        ] {
            assert!(q(big).exceeds(&q(small)), "{big} > {small}");
            assert!(!q(small).exceeds(&q(big)), "{small} < {big}");
        }
        for (a, b) in [
            ("100m", "0.1"),
            ("1Gi", "1073741824"),
            ("1k", "1e3"),
            ("+1", "1"),
        ] {
            assert!(!q(a).exceeds(&q(b)) && !q(b).exceeds(&q(a)), "{a} = {b}");
        }
    }

    #[test]
    fn quantities_and_resource_names() {
        for ok in [
            "8", "500m", "32Gi", "1.5", "0.5", ".5", "1e3", "+1", "2E-2", "100k",
        ] {
            assert!(Quantity::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "8 cores", "", "Gi", "1..2", "-1", "1gb", "1e", "1.2.3", "8 ",
        ] {
            assert!(Quantity::new(bad).is_err(), "{bad}");
        }
        assert_eq!(suggest_quantity("8 cores").as_deref(), Some("8"));
        assert_eq!(suggest_quantity("512 MiB").as_deref(), Some("512Mi"));
        assert_eq!(suggest_quantity("2GB").as_deref(), Some("2G"));
        assert_eq!(suggest_quantity("lots"), None);
        for ok in [
            "requests.cpu",
            "pods",
            "count/deployments.apps",
            "requests.nvidia.com/gpu",
            "hugepages-2Mi",
        ] {
            assert!(ResourceName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["request.cpu", "CPU", "cpu cores", "hugepages-x"] {
            assert!(ResourceName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subjects() {
        assert_eq!(Subject::parse("group:acme-devs").unwrap().kind(), "Group");
        assert_eq!(
            Subject::parse("user:alice@example.com").unwrap().name(),
            "alice@example.com"
        );
        let sa = Subject::parse("serviceaccount:ci/deployer").unwrap();
        assert_eq!(sa.namespace().map(|n| n.as_str()), Some("ci"));
        assert_eq!(sa.to_string(), "serviceaccount:ci/deployer");
        for bad in [
            "acme-devs",
            "group:",
            "team:x",
            "serviceaccount:deployer",
            "serviceaccount:CI/x",
            "user: bob",
        ] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
        assert!(check_pod_security_version("v1.34").is_ok());
        assert!(check_pod_security_version("latest").is_ok());
        for bad in ["1.34", "v1.x", "v2.1", "v1.", "v1.034"] {
            assert!(check_pod_security_version(bad).is_err(), "{bad}");
        }
    }
}
