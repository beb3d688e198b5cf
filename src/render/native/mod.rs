//! The built-in templates, rendered by plain Rust: the same bytes as minijinja renders from
//! `templates/*.j2`, without the engine's work per printed value (rendering through minijinja was
//! two fifths of a no-op compile at 100,000 tenants).
//!
//! A part is rendered here only when its template is the built-in one; a user's template always
//! goes through minijinja. The templates stay the definition: every debug build (so every test)
//! renders each part both ways and fails on the first byte that differs, and the property tests
//! feed both hostile values. Change a template and its function here together.

mod access;
pub(super) mod gitops;
mod mesh;
mod netpol;

use std::fmt::Write as _;

use super::templates::write_yaml_string;
use super::Part;
use crate::intent::{NamespaceIntent, Role};
use crate::model::{NamespaceName, Port};

/// One NetworkPolicy's or AuthorizationPolicy's share of a namespace's consumers.
pub(super) type Chunk<'a> = &'a [&'a NamespaceName];

/// The text of `part` for `ns`, as the built-in template renders it after `normalize`.
/// `chunks`: `ns.consumers` split as the templates' `consumer_chunks`.
pub(super) fn render(part: Part, ns: &NamespaceIntent, chunks: &[Chunk<'_>]) -> String {
    let mut out = Out::new();
    match part {
        Part::Namespace => namespace(&mut out, ns),
        Part::NetworkPolicies => netpol::networkpolicies(&mut out, ns, chunks),
        Part::ServiceEntries => mesh::serviceentries(&mut out, ns),
        Part::Sidecar => mesh::sidecar(&mut out, ns),
        Part::AuthorizationPolicies => mesh::authorizationpolicies(&mut out, ns, chunks),
        Part::PeerAuthentication => mesh::peerauthentication(&mut out, ns),
        Part::RoleBindings => access::rolebindings(&mut out, ns),
        Part::ResourceQuota => access::resourcequota(&mut out, ns),
        Part::LimitRange => access::limitrange(&mut out, ns),
    }
    out.finish()
}

thread_local! {
    /// The text being rendered: grown once per thread, not once per file.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// A rendered file being written: literal text, YAML scalars quoted as the templates' formatter
/// quotes them ([`write_yaml_string`]), and numbers.
pub(super) struct Out {
    text: String,
}

impl Out {
    /// Writing into this thread's scratch buffer.
    fn new() -> Self {
        let mut text = SCRATCH.take();
        text.clear();
        Self { text }
    }

    /// The text, sized for itself and the generated-file header; the buffer goes back to the
    /// thread for the next file.
    fn finish(self) -> String {
        let text = super::with_header_room(&self.text);
        SCRATCH.set(self.text);
        text
    }

    /// Template text, as it stands.
    fn raw(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// A printed value, `{{ value }}`.
    fn value(&mut self, value: &str) -> &mut Self {
        // Writing into a String cannot fail.
        let _ = write_yaml_string(&mut self.text, value);
        self
    }

    fn port(&mut self, port: Port) -> &mut Self {
        let _ = write!(self.text, "{port}");
        self
    }

    /// `metadata:` with `name` and the namespace's name, after `apiVersion` and `kind`.
    fn header(&mut self, api_version: &str, kind: &str, name: &str, ns: &NamespaceName) {
        self.raw("apiVersion: ")
            .raw(api_version)
            .raw("\nkind: ")
            .raw(kind)
            .raw("\nmetadata:\n  name: ")
            .value(name)
            .raw("\n  namespace: ")
            .value(ns.as_str())
            .raw("\n");
    }

    /// The comment of the policy admitting the namespace's owner: `Tenant <t>: its namespaces
    /// <verb> each other freely.`, or the shared namespace's.
    fn same_owner_comment(&mut self, ns: &NamespaceIntent, verb: &str) {
        self.raw("# ");
        match &ns.tenant {
            Some(tenant) if ns.role == Role::Tenant => {
                self.raw("Tenant ")
                    .value(tenant.as_str())
                    .raw(": its namespaces ")
                    .raw(verb)
                    .raw(" each other freely.\n");
            }
            _ => {
                self.raw("Pods of this shared namespace ")
                    .raw(verb)
                    .raw(" each other.\n");
            }
        }
    }

    /// The comment and name of the policy admitting `chunks[index]` of the consumers (the
    /// `consumer_chunks` loop of networkpolicies.yaml.j2 and authorizationpolicies.yaml.j2).
    fn consumers_comment(&mut self, ns: &NamespaceIntent, index: usize, chunks: usize) {
        self.raw("---\n# Consumers of this ");
        if ns.role == Role::Shared {
            self.raw("shared namespace");
        } else {
            self.raw("namespace, exposed by [tenants.")
                .value(ns.tenant.as_ref().map_or("", |t| t.as_str()))
                .raw(".expose.")
                .value(ns.name.as_str())
                .raw("]");
        }
        if chunks > 1 {
            let _ = write!(self.text, ", part {} of {chunks}", index + 1);
        }
        self.raw(".\n");
    }
}

/// The name of the policy for `chunks[index]`: `allow-consumers`, then `allow-consumers-2`...
fn consumers_name(index: usize) -> String {
    if index == 0 {
        "allow-consumers".to_owned()
    } else {
        format!("allow-consumers-{}", index + 1)
    }
}

/// namespace.yaml.j2
fn namespace(out: &mut Out, ns: &NamespaceIntent) {
    out.raw("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ")
        .value(ns.name.as_str())
        .raw("\n");
    if !ns.labels.is_empty() {
        out.raw("  labels:\n");
        for (key, value) in ns.labels.iter() {
            out.raw("    ").value(key).raw(": ").value(value).raw("\n");
        }
    }
    if !ns.annotations.is_empty() {
        out.raw("  annotations:\n");
        for (key, value) in ns.annotations.iter() {
            out.raw("    ").value(key).raw(": ").value(value).raw("\n");
        }
    }
}
