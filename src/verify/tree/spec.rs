//! The fields of Kubernetes and Istio objects that verify keeps: selectors, peers, ports and
//! rules, read leniently (a `null` reads as empty) as the API server would accept them.

use std::fmt;

use serde::de::{self, IgnoredAny};
use serde::Deserialize;

use super::Text;
use crate::resolve::lifecycle::PROTECTION;

/// A label selector as Kubernetes defines it: `matchLabels` AND every `matchExpressions` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_labels: LabelPairs,
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_expressions: Vec<Expression>,
}

/// `matchLabels`: a few pairs sorted by key. A Vec, not a map: a map node per selector would
/// dominate the memory of a tree with a hundred thousand policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelPairs(pub Vec<(Text, Text)>);

impl LabelPairs {
    pub fn get(&self, key: &str) -> Option<&Text> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Text, &Text)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Text> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Whether annotation `key` holds every comma-separated option of `want`, in any order
    /// (Argo CD trims white space around each option).
    pub fn has_options(&self, key: &str, want: &str) -> bool {
        self.get(key).is_some_and(|have| {
            want.split(',')
                .all(|o| have.split(',').any(|h| h.trim() == o.trim()))
        })
    }

    /// Bit `i` set when these annotations carry `PROTECTION[i]`, the annotations that keep a
    /// sync from deleting an object.
    pub fn protection(&self) -> u8 {
        PROTECTION
            .iter()
            .enumerate()
            .filter(|(_, (key, want))| self.has_options(key, want))
            .fold(0, |bits, (i, _)| bits | 1 << i)
    }
}

impl FromIterator<(Text, Text)> for LabelPairs {
    fn from_iter<I: IntoIterator<Item = (Text, Text)>>(iter: I) -> Self {
        let mut v: Vec<(Text, Text)> = iter.into_iter().collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        // Held for every namespace and selector of the tree: no spare capacity.
        v.shrink_to_fit();
        Self(v)
    }
}

impl<'de> Deserialize<'de> for LabelPairs {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = LabelPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of labels")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<LabelPairs, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = map.next_entry::<Text, LabelText>()? {
                    v.push((k, val.0));
                }
                Ok(v.into_iter().collect())
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
pub struct Expression {
    pub key: Text,
    pub operator: Text,
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<Text>,
}

/// One `from`/`to` entry. The pod selector is shared with the grants made of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    pub pod_selector: Option<std::sync::Arc<Selector>>,
    pub namespace_selector: Option<Selector>,
    pub ip_block: Option<IpBlock>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
pub struct IpBlock {
    pub cidr: Text,
    #[serde(default, deserialize_with = "null_as_default")]
    pub except: Vec<Text>,
}

/// A port as NetworkPolicy writes it: a number or a named container port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PortValue {
    Number(i64),
    Name(Text),
}

impl<'de> Deserialize<'de> for PortValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = PortValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number or a port name")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortValue, E> {
                Ok(PortValue::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortValue, E> {
                Ok(PortValue::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortValue, E> {
                Ok(PortValue::Name(Text::interned(v)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPort {
    pub protocol: Option<Text>,
    pub port: Option<PortValue>,
    pub end_port: Option<i64>,
}

/// A NetworkPolicy ingress or egress rule, or a Sidecar egress listener: the documents share the
/// `spec.egress` key, so one lenient struct reads both (fields of the other kind stay empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
pub struct Rule {
    pub from: Option<Vec<Peer>>,
    pub to: Option<Vec<Peer>>,
    pub ports: Option<Vec<PolicyPort>>,
    pub hosts: Option<Vec<Text>>,
}

/// One rule of an AuthorizationPolicy: it matches a request when one `from`, one `to` and every
/// `when` match (a missing or empty list matches everything).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthzRule {
    #[serde(default, deserialize_with = "null_as_default")]
    pub from: Vec<AuthzFrom>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub to: Vec<AuthzTo>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub when: Vec<IgnoredWhen>,
}

/// A `when` condition: verify cannot evaluate it, only count it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoredWhen;

impl<'de> Deserialize<'de> for IgnoredWhen {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| IgnoredWhen)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthzFrom {
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: AuthzSource,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthzTo {
    #[serde(default, deserialize_with = "null_as_default")]
    pub operation: AuthzOperation,
}

/// `rules[].from[].source`; a missing field is no constraint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzSource {
    pub principals: Option<Vec<Text>>,
    pub not_principals: Option<Vec<Text>>,
    pub namespaces: Option<Vec<Text>>,
    pub not_namespaces: Option<Vec<Text>>,
    pub ip_blocks: Option<Vec<Text>>,
    pub not_ip_blocks: Option<Vec<Text>>,
    pub remote_ip_blocks: Option<Vec<Text>>,
    pub not_remote_ip_blocks: Option<Vec<Text>>,
    pub request_principals: Option<Vec<Text>>,
    pub not_request_principals: Option<Vec<Text>>,
}

/// `rules[].to[].operation`; ports are strings in the CRD, but a number reads as well.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzOperation {
    pub ports: Option<Vec<PortValue>>,
    pub not_ports: Option<Vec<PortValue>>,
    pub hosts: Option<Vec<Text>>,
    pub not_hosts: Option<Vec<Text>>,
    pub methods: Option<Vec<Text>>,
    pub not_methods: Option<Vec<Text>>,
    pub paths: Option<Vec<Text>>,
    pub not_paths: Option<Vec<Text>>,
}

/// A label value; YAML may spell `"1"` as `1`, which the API server would reject, so keep its text.
#[derive(Debug)]
struct LabelText(Text);

impl<'de> Deserialize<'de> for LabelText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The text serde_norway writes for a value that is not a string.
        fn written(v: &serde_yaml::Value) -> Text {
            Text::interned(serde_yaml::to_string(v).unwrap_or_default().trim())
        }
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = LabelText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a label value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LabelText, E> {
                Ok(LabelText(Text::interned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LabelText, E> {
                Ok(LabelText(Text::interned("")))
            }
            fn visit_none<E: de::Error>(self) -> Result<LabelText, E> {
                self.visit_unit()
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<LabelText, D::Error> {
                LabelText::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, a: A) -> Result<LabelText, A::Error> {
                let v = serde_yaml::Value::deserialize(de::value::SeqAccessDeserializer::new(a))?;
                Ok(LabelText(written(&v)))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, a: A) -> Result<LabelText, A::Error> {
                let v = serde_yaml::Value::deserialize(de::value::MapAccessDeserializer::new(a))?;
                Ok(LabelText(written(&v)))
            }
            fn visit_enum<A: de::EnumAccess<'de>>(self, a: A) -> Result<LabelText, A::Error> {
                let v = serde_yaml::Value::deserialize(de::value::EnumAccessDeserializer::new(a))?;
                Ok(LabelText(written(&v)))
            }
        }
        d.deserialize_any(V)
    }
}

pub(super) fn null_as_default<'de, D: de::Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Argo CD's options in any order, white space trimmed; every wanted one present.
    #[test]
    fn an_annotation_has_options_in_any_order() {
        let a = |v: &str| LabelPairs(vec![(Text::from("k"), Text::from(v))]);
        assert!(a("Delete=false,Prune=false").has_options("k", "Delete=false,Prune=false"));
        assert!(a(" Prune=false , Delete=false").has_options("k", "Delete=false,Prune=false"));
        assert!(a("Prune=false,Delete=false,X=y").has_options("k", "Delete=false"));
        assert!(!a("Prune=false").has_options("k", "Delete=false,Prune=false"));
        assert!(!a("Delete=falsePrune=false").has_options("k", "Delete=false"));
        assert!(!a("Delete=false").has_options("other", "Delete=false"));
    }
}
