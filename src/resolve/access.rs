//! `[defaults]` and the access keys of tenants and shared entries: subjects, the Pod Security
//! level and version, the quota and the container defaults, each checked at its span.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use super::Resolver;
use crate::diag::{closest, Diagnostic};
use crate::load::{Located, RawAccess, RawConfig, RawContainerDefaults, RawMap};
use crate::model::{
    check_pod_security_version, suggest_quantity, Access, AccessLevel, PodSecurity,
    PodSecurityLevel, Quantities, Quantity, ResourceName, Subject, CONTAINER_RESOURCES,
    QUOTA_RESOURCES,
};

/// The prefix of the Pod Security Admission labels, which tenantc sets from `pod_security`.
/// https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces
pub const POD_SECURITY_PREFIX: &str = "pod-security.kubernetes.io/";

/// A resolved map of quantities, each with the span of its key (for the compute-quota rule).
type LocatedQuantities = BTreeMap<ResourceName, (Quantity, Range<usize>)>;

/// `[defaults]`, resolved.
#[derive(Default)]
pub(super) struct Defaults {
    level: Option<PodSecurityLevel>,
    version: Option<Arc<str>>,
    quota: LocatedQuantities,
    request: LocatedQuantities,
    limit: LocatedQuantities,
    /// The three maps without their spans, held by every entry that overrides none of them.
    shared: [Quantities; 3],
    /// Whether the rules of the quota and container defaults were checked for such an entry:
    /// they give every such entry the same findings, each reported once (by its span).
    checked: Cell<bool>,
}

/// Which quota keys need which container default (a pod without it is refused once a quota
/// names the resource: https://kubernetes.io/docs/concepts/policy/resource-quotas/#compute-resource-quota):
/// (quota key, what the LimitRange must give, whether a default limit also serves: a LimitRange's
/// `defaultRequest` defaults to its `default`).
const COMPUTE: [(&str, &str, bool); 6] = [
    ("cpu", "request", true),
    ("requests.cpu", "request", true),
    ("memory", "request", true),
    ("requests.memory", "request", true),
    ("limits.cpu", "limit", false),
    ("limits.memory", "limit", false),
];

impl Resolver<'_> {
    pub(super) fn defaults(&mut self, raw: &RawConfig) -> Defaults {
        let Some(d) = &raw.defaults else {
            return Defaults::default();
        };
        let (request, limit) = self.container_defaults(d.container_defaults.as_ref());
        let quota = self.quantities(d.quota.as_ref(), "quota", true);
        Defaults {
            shared: [&quota, &request, &limit].map(strip),
            level: d.pod_security.as_ref().and_then(|l| self.level(l)),
            version: d.pod_security_version.as_ref().and_then(|v| {
                match check_pod_security_version(&v.value) {
                    Ok(()) => Some(Arc::from(v.value.as_str())),
                    Err(e) => {
                        self.error(
                            Diagnostic::new(format!("pod_security_version {e}"), v.span.clone())
                                .with_help("pin the version of your oldest Kubernetes minor, e.g. \"v1.32\", or write \"latest\""),
                        );
                        None
                    }
                }
            }),
            quota,
            request,
            limit,
            checked: Cell::new(false),
        }
    }

    fn level(&mut self, l: &Located<String>) -> Option<PodSecurityLevel> {
        let level = PodSecurityLevel::parse(&l.value);
        if level.is_none() {
            let names = PodSecurityLevel::ALL.map(PodSecurityLevel::as_str);
            let help = match closest(&l.value.to_ascii_lowercase(), names) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => "the levels are \"privileged\", \"baseline\" and \"restricted\"".into(),
            };
            self.error(
                Diagnostic::new(
                    format!(
                        "pod_security `{}` is not a Pod Security Standards level",
                        l.value
                    ),
                    l.span.clone(),
                )
                .with_help(help),
            );
        }
        level
    }

    fn container_defaults(
        &mut self,
        c: Option<&RawContainerDefaults>,
    ) -> (LocatedQuantities, LocatedQuantities) {
        let Some(c) = c else {
            return Default::default();
        };
        (
            self.quantities(c.request.as_ref(), "container_defaults.request", false),
            self.quantities(c.limit.as_ref(), "container_defaults.limit", false),
        )
    }

    /// A map of resource names to quantities; `quota`: the names a quota takes, else the ones a
    /// container's resources take.
    fn quantities(&mut self, map: Option<&RawMap>, what: &str, quota: bool) -> LocatedQuantities {
        let mut out = LocatedQuantities::new();
        for (k, v) in map.into_iter().flatten() {
            let name = if quota {
                ResourceName::new(&k.value).ok()
            } else {
                ResourceName::new(&k.value).ok().filter(|n| {
                    n.as_str().contains('/')
                        || n.as_str().starts_with("hugepages-")
                        || CONTAINER_RESOURCES.contains(&n.as_str())
                })
            };
            if name.is_none() {
                let known: &[&str] = if quota {
                    QUOTA_RESOURCES
                } else {
                    CONTAINER_RESOURCES
                };
                let help = match closest(&k.value, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if quota => "a quota names Kubernetes resources: requests.cpu, requests.memory, limits.cpu, limits.memory, pods, services, count/<resource>.<group>, ... (https://kubernetes.io/docs/concepts/policy/resource-quotas/)".into(),
                    None => "a container default names cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource such as nvidia.com/gpu".into(),
                };
                self.error(
                    Diagnostic::new(
                        format!("{what} key `{}` is not a Kubernetes resource name", k.value),
                        k.span.clone(),
                    )
                    .with_help(help),
                );
            }
            let quantity = match Quantity::new(&v.value) {
                Ok(q) => Some(q),
                Err(e) => {
                    let help = match suggest_quantity(&v.value) {
                        Some(s) => format!("write \"{s}\": a quantity is a number with an optional suffix, such as \"8\", \"500m\" or \"32Gi\""),
                        None => "a quantity is a number with an optional suffix, such as \"8\", \"500m\", \"32Gi\" or \"1.5\"".into(),
                    };
                    self.error(
                        Diagnostic::new(format!("{what} `{}`: {e}", k.value), v.span.clone())
                            .with_help(help),
                    );
                    None
                }
            };
            if let (Some(n), Some(q)) = (name, quantity) {
                out.insert(n, (q, k.span.clone()));
            }
        }
        out
    }

    fn subjects(
        &mut self,
        list: Option<&Vec<Located<String>>>,
        level: AccessLevel,
        owner: &str,
        seen: &mut Vec<(Subject, AccessLevel, usize)>,
    ) -> Vec<Subject> {
        let mut out = Vec::with_capacity(list.map_or(0, Vec::len));
        for s in list.into_iter().flatten() {
            match Subject::parse(&s.value) {
                Ok(subject) => {
                    // An entry lists a few subjects: a search of the list is cheaper than a map.
                    if let Some((_, first, at)) = seen.iter().find(|(s, ..)| *s == subject) {
                        let line = self.line(&(*at..*at));
                        let message = if *first == level {
                            format!("{owner} lists `{subject}` twice in `{}`", level.key())
                        } else {
                            format!(
                                "{owner} lists `{subject}` in `{}` and in `{}` (line {line})",
                                level.key(),
                                first.key()
                            )
                        };
                        self.error(
                            Diagnostic::new(message, s.span.clone())
                                .with_help("a subject has one level: owners may do what editors may, editors what viewers may; keep the one it needs"),
                        );
                        continue;
                    }
                    seen.push((subject.clone(), level, s.span.start));
                    out.push(subject);
                }
                Err(e) => self.error(
                    Diagnostic::new(
                        format!("{} entry `{}` {e}", level.key(), s.value),
                        s.span.clone(),
                    )
                    .with_help("write \"group:acme-devs\", \"user:alice@example.com\" or \"serviceaccount:ci/deployer\""),
                ),
            }
        }
        // Each once (a subject seen before is reported, not added), in a set's order.
        out.sort_unstable();
        out
    }

    /// Pod Security labels in an entry's `labels` while `pod_security` applies to it: tenantc
    /// sets them. (Without `pod_security` a hand-set label is kept as before, so that a config
    /// written before these keys compiles to the same bytes.)
    pub(super) fn hand_pod_security(&mut self, labels: Option<&RawMap>, access: &Access) {
        let Some(ps) = &access.pod_security else {
            return;
        };
        for (k, _) in labels.into_iter().flatten() {
            if k.value.starts_with(POD_SECURITY_PREFIX) {
                self.error(
                    Diagnostic::new(
                        format!(
                            "label `{}` is set by tenantc from `pod_security` (here \"{}\") and may not be set by hand",
                            k.value,
                            ps.level.as_str()
                        ),
                        k.span.clone(),
                    )
                    .with_help("remove it: tenantc sets enforce at the `pod_security` level and warn and audit at restricted, each with `pod_security_version`"),
                );
            }
        }
    }

    /// The access of a tenant or shared entry (`owner`, in messages), `[defaults]` applied:
    /// its `quota` and `container_defaults` replace the keys of the defaults they name.
    pub(super) fn access(&mut self, raw: &RawAccess, defaults: &Defaults, owner: &str) -> Access {
        // Every subject of the entry, for the check that each has one level.
        let listed = [&raw.owners, &raw.editors, &raw.viewers]
            .iter()
            .map(|l| l.as_ref().map_or(0, Vec::len))
            .sum();
        let mut seen = Vec::with_capacity(listed);
        let owners = self.subjects(raw.owners.as_ref(), AccessLevel::Owner, owner, &mut seen);
        let editors = self.subjects(raw.editors.as_ref(), AccessLevel::Editor, owner, &mut seen);
        let viewers = self.subjects(raw.viewers.as_ref(), AccessLevel::Viewer, owner, &mut seen);
        let level = match &raw.pod_security {
            Some(l) => self.level(l),
            None => defaults.level,
        };
        let pod_security = level.map(|level| PodSecurity {
            level,
            version: defaults
                .version
                .clone()
                .unwrap_or_else(|| Arc::from("latest")),
        });
        let [quota, default_request, default_limit] = if raw.quota.is_none()
            && raw.container_defaults.is_none()
        {
            if !defaults.checked.replace(true) {
                self.check_limits(&defaults.quota, &defaults.request, &defaults.limit, owner);
            }
            defaults.shared.clone()
        } else {
            let mut quota = defaults.quota.clone();
            quota.extend(self.quantities(raw.quota.as_ref(), "quota", true));
            let (own_request, own_limit) = self.container_defaults(raw.container_defaults.as_ref());
            let mut request = defaults.request.clone();
            request.extend(own_request);
            let mut limit = defaults.limit.clone();
            limit.extend(own_limit);
            self.check_limits(&quota, &request, &limit, owner);
            [&quota, &request, &limit].map(strip)
        };
        Access {
            owners,
            editors,
            viewers,
            pod_security,
            quota,
            default_request,
            default_limit,
        }
    }

    /// The rules of an entry's quota and container defaults (`owner`, in messages): a compute
    /// quota needs a container default, a default request may not exceed its limit.
    fn check_limits(
        &mut self,
        quota: &LocatedQuantities,
        request: &LocatedQuantities,
        limit: &LocatedQuantities,
        owner: &str,
    ) {
        for (key, needs, limit_serves) in COMPUTE {
            let Some((_, span)) = quota
                .iter()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, v)| v)
            else {
                continue;
            };
            let resource = key.rsplit('.').next().unwrap_or(key);
            let given = |m: &LocatedQuantities| m.keys().any(|k| k.as_str() == resource);
            let ok = if needs == "request" {
                given(request) || (limit_serves && given(limit))
            } else {
                given(limit)
            };
            // A key of [defaults] is reported once, not once per entry that inherits it.
            if !ok && !self.diags.iter().any(|d| d.span == *span) {
                let example = if resource == "cpu" { "100m" } else { "128Mi" };
                self.error(
                    Diagnostic::new(
                        format!("the quota of {owner} sets `{key}` but no container default {needs}s {resource}: Kubernetes then refuses every pod whose containers do not set it themselves"),
                        span.clone(),
                    )
                    .with_help(format!(
                        "add container_defaults = {{ {needs} = {{ {resource} = \"{example}\" }} }} to the entry or to [defaults]"
                    )),
                );
            }
        }
        // Kubernetes refuses a LimitRange whose default request exceeds its default limit
        // (https://kubernetes.io/docs/concepts/policy/limit-range/): every namespace would then
        // be without its container defaults.
        for (resource, (want, span)) in request {
            let Some((cap, _)) = limit.get(resource) else {
                continue;
            };
            if want.exceeds(cap) && !self.diags.iter().any(|d| d.span == *span) {
                self.error(
                    Diagnostic::new(
                        format!("the container default request of {owner} for `{resource}` is {want}, more than its default limit {cap}: Kubernetes refuses a LimitRange whose default request exceeds its default limit"),
                        span.clone(),
                    )
                    .with_help(format!(
                        "lower the request to at most {cap}, or raise the limit to at least {want}"
                    )),
                );
            }
        }
    }
}

/// A map without its spans, to share.
fn strip(m: &LocatedQuantities) -> Quantities {
    Arc::new(m.iter().map(|(k, (q, _))| (k.clone(), q.clone())).collect())
}
