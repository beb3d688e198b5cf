//! The checks every part of tenants.toml uses: namespace and other DNS names (with a fixed
//! spelling where one is obvious), ports, labels and annotations.

use std::collections::BTreeSet;
use std::ops::Range;

use super::{lifecycle, Resolver, MAX_ANNOTATIONS_BYTES, OWNED_PREFIX};
use crate::diag::Diagnostic;
use crate::load::{Located, RawConfig, RawMap};
use crate::model::{Annotations, LabelKey, LabelValue, Labels, NamespaceName, Port};

impl Resolver<'_> {
    pub(super) fn namespace(&mut self, what: &str, s: &Located<String>) -> Option<NamespaceName> {
        self.dns_name(
            NamespaceName::new,
            &format!("{what} `{}` is not a valid namespace name", s.value),
            s,
        )
    }

    /// Checks a name with `check`, suggesting a fixed spelling where one is obvious.
    pub(super) fn dns_name<T>(
        &mut self,
        check: fn(&str) -> Result<T, String>,
        message: &str,
        s: &Located<String>,
    ) -> Option<T> {
        match check(&s.value) {
            Ok(n) => Some(n),
            Err(e) => {
                let mut d = Diagnostic::new(format!("{message}: it {e}"), s.span.clone());
                let fixed = suggest_dns_label(&s.value);
                if check(&fixed).is_ok() && fixed != s.value {
                    d = d.with_help(format!("did you mean `{fixed}`?"));
                }
                self.error(d);
                None
            }
        }
    }

    pub(super) fn ports(
        &mut self,
        list: &[Located<i64>],
        what: &str,
        allow_empty: bool,
        span: &Range<usize>,
    ) -> BTreeSet<Port> {
        let mut out = BTreeSet::new();
        if list.is_empty() && !allow_empty {
            self.error(Diagnostic::new(
                format!("{what} must list at least one port"),
                span.clone(),
            ));
        }
        for p in list {
            match Port::new(p.value) {
                Ok(port) => {
                    if !out.insert(port) {
                        self.error(Diagnostic::new(
                            format!("port {port} is listed twice in {what}"),
                            p.span.clone(),
                        ));
                    }
                }
                Err(e) => self.error(Diagnostic::new(e, p.span.clone())),
            }
        }
        out
    }

    /// Labels of pods (selectors) or of namespaces; `owned` forbids the compiler's own keys.
    pub(super) fn labels(
        &mut self,
        map: Option<&RawMap>,
        what: &str,
        owned: &BTreeSet<&str>,
    ) -> Labels {
        let mut out = Labels::new();
        for (k, v) in map.into_iter().flatten() {
            let key = self.label_key(k, what, owned);
            let value = match LabelValue::new(&v.value) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.error(Diagnostic::new(
                        format!("{what} `{}` has an invalid value {:?}: the {e}", k.value, v.value),
                        v.span.clone(),
                    ).with_help("label values are at most 63 letters, digits, `-`, `_` or `.`; put free text in an annotation"));
                    None
                }
            };
            if let (Some(k), Some(v)) = (key, value) {
                out.insert(k, v);
            }
        }
        out
    }

    pub(super) fn label_key(
        &mut self,
        k: &Located<String>,
        what: &str,
        owned: &BTreeSet<&str>,
    ) -> Option<LabelKey> {
        if owned.contains(k.value.as_str()) || k.value.starts_with(OWNED_PREFIX) {
            self.error(
                Diagnostic::new(
                    format!(
                        "{what} `{}` is set by tenantc itself and may not be overridden",
                        k.value
                    ),
                    k.span.clone(),
                )
                .with_help("remove it; tenantc sets it on every namespace it generates"),
            );
            return None;
        }
        match LabelKey::new(&k.value) {
            Ok(key) => Some(key),
            Err(e) => {
                self.error(Diagnostic::new(
                    format!("{what} key `{}` is invalid: {e}", k.value),
                    k.span.clone(),
                ));
                None
            }
        }
    }

    /// `ingress = true` means nothing without `[platform.ingress]` to say where the controller runs.
    pub(super) fn ingress_flag(
        &mut self,
        flag: Option<&Located<bool>>,
        raw: &RawConfig,
        owner: &str,
    ) -> bool {
        let on = flag.is_some_and(|b| b.value);
        if let (true, Some(f), None) = (on, flag, &raw.platform.ingress) {
            self.no_platform_ingress(owner, f.span.clone());
        }
        on
    }

    pub(super) fn annotations(
        &mut self,
        map: Option<&RawMap>,
        owned: &BTreeSet<&str>,
    ) -> Annotations {
        let mut out = Annotations::new();
        let mut total = 0;
        for (k, v) in map.into_iter().flatten() {
            total += k.value.len() + v.value.len();
            if total > MAX_ANNOTATIONS_BYTES {
                self.error(Diagnostic::new(
                    format!("annotations exceed Kubernetes' limit of {MAX_ANNOTATIONS_BYTES} bytes in total"),
                    v.span.clone(),
                ));
                return out;
            }
            if lifecycle::is_protection_key(&k.value) {
                self.error(
                    Diagnostic::new(
                        format!(
                            "annotation `{}` is set by tenantc to keep Argo CD and Flux from deleting the namespace, and may not be overridden",
                            k.value
                        ),
                        k.span.clone(),
                    )
                    .with_help("remove it; to delete a namespace on purpose, retire it (see `retired` in the README)"),
                );
                continue;
            }
            if let Some(key) = self.label_key(k, "annotation", owned) {
                out.insert(key, v.value.clone());
            }
        }
        out
    }
}

/// A best guess at what an invalid name was meant to be, for "did you mean".
pub(super) fn suggest_dns_label(s: &str) -> String {
    let lowered: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    lowered
        .trim_matches('-')
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}
