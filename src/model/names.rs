//! The checked newtypes: names, label keys and values, ports.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Defines a string newtype whose only constructor checks a rule.
///
/// The text is an `Arc<str>`: a namespace name is cloned into the consumer sets, calls and port
/// groups of every namespace that reaches it, and a clone then shares the one allocation (at
/// 100,000 tenants the copies were a large part of the intent's memory).
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Checks `value` against the rule; the error says, in the user's words, what is wrong.
            pub fn new(value: &str) -> Result<Self, String> {
                $check(value).map(|()| Self(Arc::from(value)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, sharing this value's allocation.
            pub fn to_arc(&self) -> Arc<str> {
                self.0.clone()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Compares, orders and hashes as its text (all derived from the `Arc<str>`), so a map
        // keyed by it is searched with a `&str`, without checking and copying the text first.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}
pub(super) use checked_string;

checked_string!(
    /// A tenant's name: an RFC 1123 label, as it is used in labels and directory names.
    TenantName,
    check_dns_label
);
checked_string!(
    /// A Kubernetes namespace name: an RFC 1123 label (lowercase alphanumerics and `-`, at most 63).
    NamespaceName,
    check_dns_label
);
checked_string!(
    /// The name of an `[external.<name>]` entry: an RFC 1123 label, as it names the entry's objects.
    ExternalName,
    check_dns_label
);
checked_string!(
    /// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of at most 63.
    LabelKey,
    check_qualified_name
);
checked_string!(
    /// A label value: empty, or at most 63 alphanumerics, `-`, `_` and `.`, alphanumeric at both ends.
    LabelValue,
    check_label_value
);

/// A TCP or UDP port, 1 to 65535.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Port(u16);

impl Port {
    pub fn new(value: i64) -> Result<Self, String> {
        match u16::try_from(value) {
            Ok(p) if p >= 1 => Ok(Self(p)),
            _ => Err(format!(
                "port {value} is out of range: ports are 1 to 65535"
            )),
        }
    }

    pub const fn known(value: u16) -> Self {
        assert!(value >= 1);
        Self(value)
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

pub type Labels = BTreeMap<LabelKey, LabelValue>;
pub type Annotations = BTreeMap<LabelKey, String>;

fn check_dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 63 {
        return Err(format!(
            "is {} characters long; at most 63 are allowed",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains {c:?}: only lowercase letters, digits and `-` are allowed (RFC 1123 label)"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a lowercase letter or digit (RFC 1123 label)".into());
    }
    Ok(())
}

pub(super) fn check_dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!(
            "prefix is {} characters long; at most 253 are allowed",
            s.len()
        ));
    }
    for part in s.split('.') {
        check_dns_label(part)
            .map_err(|e| format!("prefix `{s}` is not a DNS subdomain: part `{part}` {e}"))?;
    }
    Ok(())
}

/// The name part of a qualified name, and a non-empty label value, share this rule.
fn check_name_part(s: &str, what: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!(
            "{what} is {} characters long; at most 63 are allowed",
            s.len()
        ));
    }
    let ok_inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if let Some(c) = s.chars().find(|c| !ok_inner(*c)) {
        return Err(format!(
            "{what} contains {c:?}: only letters, digits, `-`, `_` and `.` are allowed"
        ));
    }
    let first = s.chars().next().unwrap_or('a');
    let last = s.chars().last().unwrap_or('a');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(format!("{what} must start and end with a letter or digit"));
    }
    Ok(())
}

pub(super) fn check_qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Err("prefix before `/` must not be empty".into());
        }
        check_dns_subdomain(p)?;
    }
    if name.is_empty() {
        return Err("name must not be empty".into());
    }
    check_name_part(name, "name")
}

fn check_label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    check_name_part(s, "value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(NamespaceName::new("acme-jobs").is_ok());
        assert!(NamespaceName::new("a").is_ok());
        assert!(NamespaceName::new(&"a".repeat(63)).is_ok());
        assert!(NamespaceName::new(&"a".repeat(64)).is_err());
        assert!(NamespaceName::new("Acme").is_err());
        assert!(NamespaceName::new("-acme").is_err());
        assert!(NamespaceName::new("acme-").is_err());
        assert!(NamespaceName::new("ac.me").is_err());
        assert!(NamespaceName::new("").is_err());
    }

    #[test]
    fn label_keys_and_values() {
        assert!(LabelKey::new("app.kubernetes.io/name").is_ok());
        assert!(LabelKey::new("example.com/Plan_1.x").is_ok());
        assert!(LabelKey::new("plan").is_ok());
        assert!(LabelKey::new("/plan").is_err());
        assert!(LabelKey::new("example.com/").is_err());
        assert!(LabelKey::new("Example.com/plan").is_err());
        assert!(LabelKey::new("a/b/c").is_err());
        assert!(LabelKey::new("plan-").is_err());
        assert!(LabelValue::new("").is_ok());
        assert!(LabelValue::new("gold_1.0-x").is_ok());
        assert!(LabelValue::new("has space").is_err());
        assert!(LabelValue::new(&"v".repeat(64)).is_err());
        assert!(LabelValue::new(".x").is_err());
    }

    #[test]
    fn ports() {
        assert!(Port::new(0).is_err());
        assert!(Port::new(65536).is_err());
        assert!(Port::new(-1).is_err());
        assert_eq!(Port::new(65535).map(Port::get), Ok(65535));
    }
}
