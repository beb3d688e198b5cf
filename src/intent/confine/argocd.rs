//! How Argo CD reads an AppProject before a sync (argo-cd `pkg/apis/application/v1alpha1`):
//! Go's `filepath.Match` on whitelist entries and destinations, `IsGroupKindPermitted`,
//! `IsDestinationPermitted`.

use serde_json::Value;

/// Go's `filepath.Match` on names without separators, as Argo CD matches a project's whitelist
/// entries and destinations against a resource (`*` any run, `?` one character, `[...]` a class
/// with ranges and `^`/`!` negation, `\` escapes). A malformed pattern matches nothing.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    // Most patterns are plain names: verify evaluates one per object of the tree. (A search of
    // the bytes: `str::contains` with a set of characters decodes each one.)
    if !pattern
        .bytes()
        .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
    {
        return pattern == name;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| glob_at(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && n[0] != '/' && glob_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(c) = n.first() else { return false };
            let Some((matched, rest)) = class(&p[1..], *c) else {
                return false;
            };
            matched && glob_at(rest, &n[1..])
        }
        Some('\\') => p.len() > 1 && n.first() == Some(&p[1]) && glob_at(&p[2..], &n[1..]),
        Some(c) => n.first() == Some(c) && glob_at(&p[1..], &n[1..]),
    }
}

/// Whether `c` is in the class that starts at `p` (after `[`), and the pattern after `]`.
fn class(p: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut i) = match p.first() {
        Some('^' | '!') => (true, 1),
        _ => (false, 0),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negated, &p[i + 1..]));
        }
        first = false;
        let lo = if lo == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            lo
        };
        i += 1;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|x| *x != ']') {
            i += 1;
            let h = if p[i] == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                p[i]
            };
            i += 1;
            h
        } else {
            lo
        };
        if lo <= c && c <= hi {
            matched = true;
        }
    }
}

/// What Argo CD's sync checks read of an AppProject: its whitelists, blacklists and destinations,
/// as `(group, kind)` and `(server, namespace)` patterns. Small, so that verify keeps one per
/// tenant rather than the project whole; the kind rules, equal in most projects, are shared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectRules {
    kinds: std::sync::Arc<KindRules>,
    destinations: Box<[(Box<str>, Box<str>)]>,
}

/// A project's kind lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KindRules {
    /// `None`: the project has no namespaced whitelist, which permits every namespaced kind.
    namespace_whitelist: Option<Vec<(String, String)>>,
    namespace_blacklist: Vec<(String, String)>,
    cluster_whitelist: Vec<(String, String)>,
    cluster_blacklist: Vec<(String, String)>,
}

impl KindRules {
    /// [`ProjectRules::permits_kind`].
    fn permits(&self, group: &str, kind: &str, namespaced: bool) -> bool {
        let listed = |list: &[(String, String)]| {
            list.iter()
                .any(|(g, k)| glob_match(k, kind) && glob_match(g, group))
        };
        if namespaced {
            let white = match &self.namespace_whitelist {
                None => true,
                Some(l) => listed(l),
            };
            white && !listed(&self.namespace_blacklist)
        } else {
            listed(&self.cluster_whitelist) && !listed(&self.cluster_blacklist)
        }
    }

    /// Whether `spec`'s kind lists are these.
    fn is_of(&self, spec: &Value) -> bool {
        let same = |list: &[(String, String)], key: &str| {
            let mut read = pairs_of(spec, key, "group", "kind");
            list.iter()
                .all(|(g, k)| read.next().is_some_and(|(rg, rk)| rg == g && rk == k))
                && read.next().is_none()
        };
        let whitelist = "namespaceResourceWhitelist";
        (match &self.namespace_whitelist {
            None => spec[whitelist].is_null(),
            Some(list) => !spec[whitelist].is_null() && same(list, whitelist),
        }) && same(&self.namespace_blacklist, "namespaceResourceBlacklist")
            && same(&self.cluster_whitelist, "clusterResourceWhitelist")
            && same(&self.cluster_blacklist, "clusterResourceBlacklist")
    }
}

/// Equal kind rules, shared ([`ProjectRules::of_shared`]): every set read, and the last few
/// used, which a project's lists are compared with first, without copying them.
#[derive(Default)]
pub struct KindRulesCache {
    all: std::collections::HashMap<KindRules, std::sync::Arc<KindRules>>,
    recent: Vec<std::sync::Arc<KindRules>>,
}

/// How many sets [`KindRulesCache`] compares a project with before it copies its lists.
const RECENT_KIND_RULES: usize = 4;

/// The spec's list `key` of `(a, b)` pairs, as [`ProjectRules::of_shared`] reads it.
fn pairs_of<'v, 'k>(
    spec: &'v Value,
    key: &str,
    a: &'k str,
    b: &'k str,
) -> impl Iterator<Item = (&'v str, &'v str)> + use<'v, 'k> {
    spec[key].as_array().into_iter().flatten().map(move |e| {
        let s = |k: &str| e[k].as_str().unwrap_or_default();
        (s(a), s(b))
    })
}

impl ProjectRules {
    pub fn of(project: &Value) -> Self {
        Self::of_shared(project, &mut KindRulesCache::default())
    }

    /// [`Self::of`], sharing kind rules equal to one in `cache`.
    pub fn of_shared(project: &Value, cache: &mut KindRulesCache) -> Self {
        let spec = &project["spec"];
        let pairs = |key: &str, a: &str, b: &str| -> Vec<(String, String)> {
            pairs_of(spec, key, a, b)
                .map(|(x, y)| (x.to_owned(), y.to_owned()))
                .collect()
        };
        let kinds = match cache.recent.iter().position(|k| k.is_of(spec)) {
            Some(i) => {
                // The most recent first.
                cache.recent[..=i].rotate_right(1);
                cache.recent[0].clone()
            }
            None => {
                let kinds = KindRules {
                    namespace_whitelist: (!spec["namespaceResourceWhitelist"].is_null())
                        .then(|| pairs("namespaceResourceWhitelist", "group", "kind")),
                    namespace_blacklist: pairs("namespaceResourceBlacklist", "group", "kind"),
                    cluster_whitelist: pairs("clusterResourceWhitelist", "group", "kind"),
                    cluster_blacklist: pairs("clusterResourceBlacklist", "group", "kind"),
                };
                let shared = match cache.all.get(&kinds) {
                    Some(shared) => shared.clone(),
                    None => {
                        let shared = std::sync::Arc::new(kinds.clone());
                        cache.all.insert(kinds, shared.clone());
                        shared
                    }
                };
                cache.recent.insert(0, shared.clone());
                cache.recent.truncate(RECENT_KIND_RULES);
                shared
            }
        };
        Self {
            kinds,
            destinations: pairs("destinations", "server", "namespace")
                .into_iter()
                .map(|(s, n)| (s.into_boxed_str(), n.into_boxed_str()))
                .collect(),
        }
    }

    /// Argo CD's `IsGroupKindPermitted` (argo-cd `pkg/apis/application/v1alpha1/app_project_types.go`):
    /// a namespaced kind is permitted when the namespace whitelist is absent (every kind) or
    /// lists it, a cluster-scoped one only when the cluster whitelist lists it; a blacklist entry
    /// refuses it either way. Entries are `filepath.Match` patterns on group and kind.
    pub fn permits_kind(&self, group: &str, kind: &str, namespaced: bool) -> bool {
        self.kinds.permits(group, kind, namespaced)
    }

    /// The kind rules, which [`Self::of_shared`] shares between projects with equal ones: an
    /// answer of [`Self::permits_kind`] holds for every project with the same.
    pub fn kind_rules(&self) -> &std::sync::Arc<KindRules> {
        &self.kinds
    }

    /// Argo CD's `IsDestinationPermitted`: some destination matches `server` and `namespace`
    /// (globs, and a `!` pattern matches what it does not name), and no `!` pattern refuses
    /// them. A cluster-scoped object (`None`) is checked on the server alone.
    pub fn permits_destination(&self, server: &str, namespace: Option<&str>) -> bool {
        let matches = |pattern: &str, value: &str| match pattern.strip_prefix('!') {
            Some(rest) => !glob_match(rest, value),
            None => glob_match(pattern, value),
        };
        let mut any = false;
        for (srv, ns) in self.destinations.iter() {
            let server_ok = !server.is_empty() && matches(srv, server);
            let ns_ok = namespace.is_none_or(|n| matches(ns, n));
            if server_ok && ns_ok {
                any = true;
            } else if (!server_ok && srv.starts_with('!')) || (!ns_ok && ns.starts_with('!')) {
                return false;
            }
        }
        any
    }
}

/// [`ProjectRules::permits_kind`] of `project`.
pub fn group_kind_permitted(project: &Value, group: &str, kind: &str, namespaced: bool) -> bool {
    ProjectRules::of(project).permits_kind(group, kind, namespaced)
}

/// [`ProjectRules::permits_destination`] of `project`.
pub fn destination_permitted(project: &Value, server: &str, namespace: Option<&str>) -> bool {
    ProjectRules::of(project).permits_destination(server, namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match() {
        for (p, n, want) in [
            ("*", "NetworkPolicy", true),
            ("", "", true),
            ("", "x", false),
            ("Network*", "NetworkPolicy", true),
            ("networking.*.io", "networking.istio.io", true),
            ("?idecar", "Sidecar", true),
            ("[A-Z]idecar", "Sidecar", true),
            ("[^A-Z]idecar", "Sidecar", false),
            ("[!a-z]idecar", "Sidecar", true),
            ("Side\\car", "Sidecar", true),
            ("Sidecar", "sidecar", false),
            ("[", "x", false),
        ] {
            assert_eq!(glob_match(p, n), want, "{p} ~ {n}");
        }
    }

    #[test]
    fn project_whitelists_as_argo_cd_reads_them() {
        let project = serde_json::json!({"spec": {
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceWhitelist": [{"group": "networking.k8s.io", "kind": "NetworkPolicy"}],
        }});
        assert!(group_kind_permitted(&project, "", "Namespace", false));
        assert!(group_kind_permitted(
            &project,
            "networking.k8s.io",
            "NetworkPolicy",
            true
        ));
        assert!(!group_kind_permitted(
            &project,
            "networking.istio.io",
            "Sidecar",
            true
        ));
        assert!(!group_kind_permitted(
            &project,
            "rbac.authorization.k8s.io",
            "ClusterRole",
            false
        ));
        // No namespaced whitelist at all: every namespaced kind; an empty one: none.
        let open = serde_json::json!({"spec": {}});
        assert!(group_kind_permitted(
            &open,
            "networking.istio.io",
            "Sidecar",
            true
        ));
        assert!(!group_kind_permitted(&open, "", "Namespace", false));
        let empty = serde_json::json!({"spec": {"namespaceResourceWhitelist": []}});
        assert!(!group_kind_permitted(
            &empty,
            "networking.istio.io",
            "Sidecar",
            true
        ));
        let globbed = serde_json::json!({"spec": {
            "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}],
            "namespaceResourceBlacklist": [{"group": "", "kind": "Secret"}],
        }});
        assert!(group_kind_permitted(
            &globbed,
            "networking.istio.io",
            "Sidecar",
            true
        ));
        assert!(!group_kind_permitted(&globbed, "", "Secret", true));
    }

    /// Projects read one after the other through one cache: each gets rules equal to those
    /// read from it alone, shared with the earlier projects that have equal ones only.
    #[test]
    fn kind_rules_are_shared_only_between_equal_lists() {
        let entry = |g: &str, k: &str| serde_json::json!({"group": g, "kind": k});
        let netpol = entry("networking.k8s.io", "NetworkPolicy");
        let sidecar = entry("networking.istio.io", "Sidecar");
        let namespace = entry("", "Namespace");
        let projects = [
            serde_json::json!({"spec": {"namespaceResourceWhitelist": [netpol, sidecar]}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": [netpol]}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": [netpol, sidecar, namespace]}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": [sidecar, netpol]}}),
            serde_json::json!({"spec": {}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": []}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": "x"}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": [netpol],
                "namespaceResourceBlacklist": [sidecar]}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": [netpol],
                "clusterResourceWhitelist": [namespace]}}),
            serde_json::json!({"spec": {"namespaceResourceWhitelist": [netpol],
                "clusterResourceBlacklist": [namespace]}}),
        ];
        let mut cache = KindRulesCache::default();
        let mut read: Vec<ProjectRules> = Vec::new();
        // Every project twice, and the first ones again after the cache's recent sets moved on.
        for project in projects.iter().chain(&projects).chain(&projects[..3]) {
            let rules = ProjectRules::of_shared(project, &mut cache);
            assert_eq!(*rules.kinds, *ProjectRules::of(project).kinds, "{project}");
            for earlier in &read {
                assert_eq!(
                    std::sync::Arc::ptr_eq(&earlier.kinds, &rules.kinds),
                    earlier.kinds == rules.kinds,
                    "{project}"
                );
            }
            read.push(rules);
        }
    }

    #[test]
    fn destinations_with_globs_and_negation() {
        let project = serde_json::json!({"spec": {"destinations": [
            {"server": "https://kubernetes.default.svc", "namespace": "acme*"},
            {"server": "*", "namespace": "!acme-secret"},
        ]}});
        let s = "https://kubernetes.default.svc";
        assert!(destination_permitted(&project, s, Some("acme-jobs")));
        assert!(!destination_permitted(&project, s, Some("acme-secret")));
        // `!acme-secret` on server `*` admits every other namespace of every cluster.
        assert!(destination_permitted(
            &project,
            "https://other",
            Some("globex")
        ));
        let exact =
            serde_json::json!({"spec": {"destinations": [{"server": s, "namespace": "acme"}]}});
        assert!(!destination_permitted(&exact, s, Some("globex")));
        assert!(!destination_permitted(
            &exact,
            "https://other",
            Some("acme")
        ));
        assert!(destination_permitted(&project, s, None));
    }
}
