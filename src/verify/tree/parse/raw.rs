//! The lenient structs serde reads a document into: the fields of every kind verify reads, all
//! optional.

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::verify::tree::spec::null_as_default;
use crate::verify::tree::{AuthzRule, LabelPairs, PortValue, Rule, Selector, Text};

/// A document as serde reads it: the fields of every kind verify reads, all optional, so that
/// one lenient struct reads them all.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawDoc {
    pub(super) api_version: Option<Text>,
    pub(super) kind: Option<Text>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) metadata: RawMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) spec: RawSpec,
    // RBAC: typed, each string interned (a tree repeats its subjects in every namespace of a
    // tenant, and some in every namespace)
    pub(super) role_ref: Option<RawRoleRef>,
    pub(super) subjects: Option<Vec<RawSubject>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawRoleRef {
    pub(super) api_group: Option<Scalar>,
    pub(super) kind: Option<Scalar>,
    pub(super) name: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawSubject {
    pub(super) kind: Option<Scalar>,
    pub(super) name: Option<Scalar>,
    pub(super) namespace: Option<Scalar>,
    pub(super) api_group: Option<Scalar>,
}

/// A scalar as text: a string as written (interned), a number or boolean as JSON prints it
/// (`pods: 200` is the quantity `200`); a sequence or mapping is named, never an error, so that
/// what a hand edit put there is reported as a difference.
#[derive(Debug, Default)]
pub(super) struct Scalar(pub(super) Text);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(v)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(if v { "true" } else { "false" })))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(&v.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(&v.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(
                    &serde_json::Value::from(v).to_string(),
                )))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned("null")))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(Text::interned("(a sequence)")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(Text::interned("(a mapping)")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A map of quantities (`spec.hard`), as text, sorted by key.
#[derive(Debug, Default)]
pub(super) struct Quantities(pub(super) Vec<(String, String)>);

impl<'de> Deserialize<'de> for Quantities {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Quantities;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of quantities")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Quantities, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<Scalar, Scalar>()? {
                    out.push((k.0.to_string(), v.0.to_string()));
                }
                out.sort();
                Ok(Quantities(out))
            }
            // Anything else holds no quantity, as before: the quota then differs.
            fn visit_unit<E: serde::de::Error>(self) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Quantities, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Quantities::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawSpec {
    pub(super) pod_selector: Option<Selector>,
    pub(super) policy_types: Option<Vec<Text>>,
    pub(super) ingress: Option<Vec<Rule>>,
    pub(super) egress: Option<Vec<Rule>>,
    pub(super) workload_selector: Option<IgnoredAny>,
    pub(super) outbound_traffic_policy: Option<RawOutbound>,
    // ServiceEntry
    pub(super) hosts: Option<Vec<Text>>,
    pub(super) addresses: Option<Vec<Text>>,
    pub(super) ports: Option<Vec<RawServicePort>>,
    pub(super) export_to: Option<Vec<Text>>,
    pub(super) resolution: Option<Text>,
    pub(super) location: Option<Text>,
    pub(super) endpoints: Option<IgnoredAny>,
    pub(super) subject_alt_names: Option<Vec<Text>>,
    // AuthorizationPolicy
    pub(super) action: Option<Text>,
    pub(super) rules: Option<Vec<AuthzRule>>,
    pub(super) selector: Option<IgnoredAny>,
    pub(super) target_ref: Option<IgnoredAny>,
    pub(super) target_refs: Option<IgnoredAny>,
    // PeerAuthentication
    pub(super) mtls: Option<RawMtls>,
    pub(super) port_level_mtls: Option<IgnoredAny>,
    // ResourceQuota and LimitRange
    pub(super) hard: Option<Quantities>,
    pub(super) limits: Option<serde_json::Value>,
    pub(super) scopes: Option<IgnoredAny>,
    pub(super) scope_selector: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawMtls {
    pub(super) mode: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawServicePort {
    pub(super) number: Option<PortValue>,
    pub(super) protocol: Option<Text>,
    pub(super) target_port: Option<PortValue>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawOutbound {
    pub(super) mode: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawMeta {
    pub(super) name: Option<Text>,
    pub(super) namespace: Option<Text>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) labels: LabelPairs,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) annotations: LabelPairs,
}

pub(super) const KINDS: [&str; 12] = [
    "NetworkPolicy",
    "Sidecar",
    "Namespace",
    "ServiceEntry",
    "AuthorizationPolicy",
    "PeerAuthentication",
    "RoleBinding",
    "Role",
    "ClusterRole",
    "ClusterRoleBinding",
    "ResourceQuota",
    "LimitRange",
];
