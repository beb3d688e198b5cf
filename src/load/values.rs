//! Typed values out of the TOML tree: each reader returns the value with its span, or reports an
//! unknown key or a wrong type as a diagnostic and returns `None`, so that the walk goes on.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::{closest, Diagnostic};

use super::{Located, RawMap, Walker};

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

fn kind_of(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Walker {
    pub(super) fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Entries of `table`, reporting every key not in `known` (with the closest known key).
    pub(super) fn entries<'a, 'i>(
        &mut self,
        table: &'a DeTable<'i>,
        known: &[&str],
        context: &str,
    ) -> Vec<Entry<'a, 'i>> {
        let mut out = Vec::new();
        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            if known.contains(&key) {
                out.push((k, v));
            } else {
                let mut d = Diagnostic::new(format!("unknown key `{key}` in {context}"), k.span())
                    .with_label("unknown key");
                d = match closest(key, known.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("known keys here: {}", known.join(", "))),
                };
                self.error(d);
            }
        }
        out
    }

    pub(super) fn type_error(&mut self, key: &str, expected: &str, v: &Spanned<DeValue<'_>>) {
        self.error(Diagnostic::new(
            format!("`{key}` must be {expected}, found {}", kind_of(v.get_ref())),
            v.span(),
        ));
    }

    pub(super) fn table<'a, 'i>(
        &mut self,
        key: &str,
        v: &'a Spanned<DeValue<'i>>,
    ) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.type_error(key, "a table", v);
                None
            }
        }
    }

    /// `[tenants.<name>]` / `[shared.<name>]`: a table of tables keyed by name.
    pub(super) fn named_tables<'a, 'i>(
        &mut self,
        key: &str,
        v: &'a Spanned<DeValue<'i>>,
    ) -> Option<&'a DeTable<'i>> {
        if let DeValue::Array(_) = v.get_ref() {
            self.error(
                Diagnostic::new(format!("`{key}` must be a table, found an array"), v.span())
                    .with_help(format!(
                        "write one [{key}.<name>] table per entry, not [[{key}]]"
                    )),
            );
            return None;
        }
        self.table(key, v)
    }

    pub(super) fn string(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Located<String>> {
        match v.get_ref() {
            DeValue::String(s) => Some(Located {
                value: s.to_string(),
                span: v.span(),
            }),
            _ => {
                self.type_error(key, "a string", v);
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Located<bool>> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Located {
                value: *b,
                span: v.span(),
            }),
            _ => {
                self.type_error(key, "true or false", v);
                None
            }
        }
    }

    pub(super) fn integer(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Located<i64>> {
        match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(Located {
                    value: n,
                    span: v.span(),
                }),
                Err(_) => {
                    self.error(Diagnostic::new(
                        format!("`{key}` is out of range"),
                        v.span(),
                    ));
                    None
                }
            },
            _ => {
                self.type_error(key, "an integer", v);
                None
            }
        }
    }

    fn array<'a, 'i>(
        &mut self,
        key: &str,
        expected: &str,
        v: &'a Spanned<DeValue<'i>>,
    ) -> Option<&'a [Spanned<DeValue<'i>>]> {
        match v.get_ref() {
            DeValue::Array(a) => Some(&a[..]),
            _ => {
                self.type_error(key, expected, v);
                None
            }
        }
    }

    pub(super) fn strings(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Vec<Located<String>>> {
        let items = self.array(key, "an array of strings", v)?;
        let out: Vec<_> = items.iter().filter_map(|i| self.string(key, i)).collect();
        (out.len() == items.len()).then_some(out)
    }

    pub(super) fn integers(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Vec<Located<i64>>> {
        let items = self.array(key, "an array of integers", v)?;
        let out: Vec<_> = items.iter().filter_map(|i| self.integer(key, i)).collect();
        (out.len() == items.len()).then_some(out)
    }

    /// A table of string values, such as labels or annotations.
    pub(super) fn string_map(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<RawMap> {
        let table = self.table(key, v)?;
        let mut out = Vec::new();
        for (k, val) in table.iter() {
            let name: &str = k.get_ref();
            match val.get_ref() {
                DeValue::String(s) => out.push((
                    Located { value: name.to_owned(), span: k.span() },
                    Located { value: s.to_string(), span: val.span() },
                )),
                DeValue::Table(_) => self.error(
                    Diagnostic::new(
                        format!("the value of `{name}` in `{key}` must be a string, found a table"),
                        val.span(),
                    )
                    .with_help(format!(
                        "a key with dots must be quoted: \"{name}.…\" = \"…\" (TOML reads unquoted dots as nested tables)"
                    )),
                ),
                other => self.error(
                    Diagnostic::new(
                        format!("the value of `{name}` in `{key}` must be a string, found {}", kind_of(other)),
                        val.span(),
                    )
                    .with_help(if matches!(key, "quota" | "request" | "limit") {
                        "quote it: Kubernetes quantities are strings here, such as \"200\" or \"500m\""
                    } else {
                        "quote it: Kubernetes label and annotation values are strings"
                    }),
                ),
            }
        }
        Some(out)
    }

    /// A list of strings, with the span of the whole list (for "must not be empty").
    pub(super) fn located_strings(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Located<Vec<Located<String>>>> {
        self.strings(key, v).map(|value| Located {
            value,
            span: v.span(),
        })
    }

    pub(super) fn located_integers(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Located<Vec<Located<i64>>>> {
        self.integers(key, v).map(|value| Located {
            value,
            span: v.span(),
        })
    }
}
