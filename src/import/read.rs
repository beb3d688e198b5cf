//! Reading what `tenantc import` is given: YAML or JSON files and directories of them, one
//! document or many per file, and `kubectl get ... -o yaml` dumps, whose objects are the `items`
//! of a `kind: List`. Every object goes through verify's parser ([`parse_file`]), so that the
//! imported policies are evaluated exactly as `tenantc verify` evaluates a tree.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::verify::tree::{parse_file, Tree, TreeError};

/// Every document of `paths` (files, or directories walked for `*.yaml`, `*.yml` and `*.json`),
/// read on every core. Any file that cannot be read or parsed is an error, all of them reported:
/// a proof made on part of the cluster would prove nothing.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Tree, Vec<TreeError>> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = files.len();
            for entry in walkdir::WalkDir::new(p).sort_by_file_name() {
                match entry {
                    Ok(e) if e.file_type().is_file() && is_manifest(e.path()) => {
                        files.push(e.path().to_path_buf());
                    }
                    Ok(_) => {}
                    Err(e) => errors.push(TreeError::Read {
                        path: e
                            .path()
                            .map_or_else(|| p.display().to_string(), |x| x.display().to_string()),
                        message: e.to_string(),
                    }),
                }
            }
            if files.len() == before {
                errors.push(TreeError::Read {
                    path: p.display().to_string(),
                    message: "holds no YAML or JSON file".into(),
                });
            }
        } else {
            // A file named on the command line is read whatever its extension (`dump.txt`).
            files.push(p.clone());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let parts = crate::par::map_parts(&files, |part| {
        let mut tree = Tree::default();
        let mut errors = Vec::new();
        for path in part {
            let name = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => match expand_lists(&text) {
                    // A dump: its items a few thousand at a time, so that the parsed documents
                    // of a whole cluster are never held at once.
                    Some(chunks) => {
                        drop(text);
                        for (i, chunk) in chunks.iter().enumerate() {
                            if let Err(e) = parse_file(chunk, &name, &mut tree) {
                                errors.push(e);
                            }
                            if i > 0 {
                                tree.files -= 1;
                            }
                        }
                    }
                    None => {
                        if let Err(e) = parse_file(&text, &name, &mut tree) {
                            errors.push(e);
                        }
                    }
                },
                Err(e) => errors.push(TreeError::Read {
                    path: name,
                    message: e.to_string(),
                }),
            }
        }
        (tree, errors)
    });
    let mut tree = Tree::default();
    for (part, errs) in parts {
        errors.extend(errs);
        merge(&mut tree, part);
    }
    if errors.is_empty() {
        Ok(tree)
    } else {
        Err(errors)
    }
}

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|x| x.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Moves every object of `from` into `into`.
pub fn merge(into: &mut Tree, from: Tree) {
    into.absorb(from);
}

/// How many documents of a dump are parsed together.
const CHUNK: usize = 2000;

/// The documents of `text` with every `kind: List` (or `NetworkPolicyList`, ...) replaced by
/// its items, as multi-document YAML texts of at most [`CHUNK`] documents; `None` when the text has no list (the common
/// case, tested without parsing) or does not parse (the parser then reports where). The items
/// are streamed one at a time: a dump of a large cluster is one document of a hundred thousand
/// objects, which as one YAML value would take several times the memory of its text.
pub fn expand_lists(text: &str) -> Option<Vec<String>> {
    if !text.lines().any(is_list_kind_line) && !has_json_list_kind(text) {
        return None;
    }
    let mut out = Chunks::default();
    for doc in serde_yaml::Deserializer::from_str(text) {
        DocSeed { out: &mut out }.deserialize(doc).ok()?;
    }
    out.done.push(out.current);
    out.done.retain(|c| !c.is_empty());
    Some(out.done)
}

/// Documents written as YAML, [`CHUNK`] to a text.
#[derive(Default)]
struct Chunks {
    done: Vec<String>,
    current: String,
    count: usize,
}

impl Chunks {
    fn push(&mut self, doc: &str) {
        if self.count == CHUNK {
            self.done.push(std::mem::take(&mut self.current));
            self.count = 0;
        }
        self.current.push_str("---\n");
        self.current.push_str(doc);
        self.count += 1;
    }
}

/// A top-level `kind: ...List` line (YAML).
fn is_list_kind_line(line: &str) -> bool {
    line.strip_prefix("kind:")
        .map(|v| v.trim().trim_matches(['"', '\'']))
        .is_some_and(|k| k.ends_with("List"))
}

/// A `"kind": "...List"` member anywhere (JSON, on one line or many).
fn has_json_list_kind(text: &str) -> bool {
    text.match_indices("\"kind\"").any(|(at, key)| {
        let rest = text[at + key.len()..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            return false;
        };
        let Some(value) = rest.trim_start().strip_prefix('"') else {
            return false;
        };
        value.split('"').next().is_some_and(|k| k.ends_with("List"))
    })
}

/// Writes one document to `out`: a list's items each as a document of its own (lists inside
/// lists too), anything else as it is.
struct DocSeed<'a> {
    out: &'a mut Chunks,
}

fn push_value(out: &mut Chunks, v: &serde_yaml::Value) {
    if v.is_null() {
        return;
    }
    let is_list = v
        .get("kind")
        .and_then(|k| k.as_str())
        .is_some_and(|k| k.ends_with("List"));
    if let (true, Some(items)) = (is_list, v.get("items").and_then(|i| i.as_sequence())) {
        for item in items {
            push_value(out, item);
        }
        return;
    }
    if let Ok(text) = serde_yaml::to_string(v) {
        out.push(&text);
    }
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes object or a List of them")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Every key but `items` as a value; `items` streamed, each item written as it is read.
        let mut rest = serde_yaml::Mapping::new();
        let mut items = Chunks::default();
        let mut has_items = false;
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if key.as_str() == Some("items") {
                has_items = true;
                map.next_value_seed(ItemsSeed { out: &mut items })?;
            } else {
                let value: serde_yaml::Value = map.next_value()?;
                rest.insert(key, value);
            }
        }
        let is_list = rest
            .get("kind")
            .and_then(|k| k.as_str())
            .is_some_and(|k| k.ends_with("List"));
        items.done.push(items.current);
        if is_list {
            // The items' texts as they are, after the documents before them.
            let out = &mut *self.out;
            if out.count > 0 {
                out.done.push(std::mem::take(&mut out.current));
                out.count = 0;
            }
            out.done
                .extend(items.done.into_iter().filter(|c| !c.is_empty()));
        } else {
            // Not a list after all: put its `items` back, as read.
            if has_items {
                let docs: Vec<serde_yaml::Value> = items
                    .done
                    .iter()
                    .flat_map(|c| serde_yaml::Deserializer::from_str(c))
                    .filter_map(|d| serde_yaml::Value::deserialize(d).ok())
                    .collect();
                rest.insert("items".into(), serde_yaml::Value::Sequence(docs));
            }
            push_value(self.out, &serde_yaml::Value::Mapping(rest));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // A bare sequence of objects (`yq` output): each one a document.
        while let Some(v) = seq.next_element::<serde_yaml::Value>()? {
            push_value(self.out, &v);
        }
        Ok(())
    }
}

struct ItemsSeed<'a> {
    out: &'a mut Chunks,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<serde_yaml::Value>()? {
            push_value(self.out, &v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_becomes_its_items() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: v1\n    kind: Namespace\n    metadata: {name: b}\nmetadata: {resourceVersion: \"\"}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n";
        let out = expand_lists(text).unwrap().concat();
        let mut tree = Tree::default();
        parse_file(&out, "dump.yaml", &mut tree).unwrap();
        let names: Vec<&str> = tree
            .namespaces
            .iter()
            .map(|n| n.origin.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn json_lists_and_plain_files() {
        let one_line = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"y\"}}]}";
        assert!(expand_lists(one_line).unwrap().concat().contains("name: y"));
        let json = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"NamespaceList\",\n  \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"x\"}}]\n}\n";
        let out = expand_lists(json).unwrap().concat();
        assert!(out.contains("name: x"), "{out}");
        assert_eq!(expand_lists("kind: Namespace\n"), None);
        // `items` of something that is not a list stays.
        let odd = "kind: Widget\nitems: [1, 2]\n---\nkind: List\nitems: []\n";
        assert!(expand_lists(odd).unwrap().concat().contains("- 1"));
        // Thousands of items: several texts, every item once.
        let many: String = std::iter::once("kind: List\nitems:\n".to_owned())
            .chain((0..4500).map(|i| {
                format!("- {{apiVersion: v1, kind: Namespace, metadata: {{name: n{i}}}}}\n")
            }))
            .collect();
        let chunks = expand_lists(&many).unwrap();
        assert_eq!(chunks.len(), 3);
        let mut tree = Tree::default();
        for c in &chunks {
            parse_file(c, "d", &mut tree).unwrap();
        }
        assert_eq!(tree.namespaces.len(), 4500);
    }
}
