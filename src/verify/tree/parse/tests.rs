use super::parse_file;
use crate::verify::tree::{Policy, PortValue, Text, Tree, TreeError};

#[test]
fn a_file_with_gitops_objects_is_noted_once_when_the_full_parser_reads_it_again() {
    // The Deployment's `spec.egress` does not fit the lenient struct: the fast reader's typed
    // pass fails and the full parser reads the file again.
    let text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  egress: 3\n";
    let mut tree = Tree::default();
    parse_file(text, "f.yaml", &mut tree).unwrap();
    assert_eq!(tree.gitops.len(), 1);
}

#[test]
fn reads_policies_sidecars_namespaces_and_skips_other_kinds() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    n: 1\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  egress: 3\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - from: []\n    ports:\n    - port: http\n    - port: 80\n      endPort: 90\n";
    let mut tree = Tree::default();
    parse_file(text, "f.yaml", &mut tree).unwrap();
    assert_eq!(tree.namespaces.len(), 1);
    assert_eq!(
        tree.namespaces[0].labels.get("n").map(Text::as_str),
        Some("1")
    );
    assert_eq!(tree.policies.len(), 1);
    let rule = &tree.policies[0].ingress.as_ref().unwrap()[0];
    assert_eq!(rule.from.as_deref(), Some(&[][..]));
    let ports = rule.ports.as_ref().unwrap();
    assert_eq!(ports[0].port, Some(PortValue::Name("http".into())));
    assert_eq!(ports[1].end_port, Some(90));
    assert_eq!(tree.documents, 3);
}

#[test]
fn equal_service_entry_specs_are_shared() {
    let se = |ns: &str, host: &str| {
        format!("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: e, namespace: {ns}}}\nspec:\n  hosts: [{host}]\n  ports: [{{number: 443}}]\n  exportTo: [\".\"]\n")
    };
    let text = [se("a", "x.com"), se("b", "x.com"), se("c", "y.com")].join("---\n");
    let mut tree = Tree::default();
    parse_file(&text, "f.yaml", &mut tree).unwrap();
    let [a, b, c] = &tree.service_entries[..] else {
        panic!("{:?}", tree.service_entries)
    };
    assert!(std::sync::Arc::ptr_eq(&a.spec, &b.spec));
    assert!(!std::sync::Arc::ptr_eq(&a.spec, &c.spec));
    assert_eq!(c.spec.hosts, ["y.com"]);
    assert_eq!(
        (a.spec.ports.as_slice(), b.namespace.as_deref()),
        (&[443][..], Some("b"))
    );
}

#[test]
fn equal_labels_and_sidecar_hosts_are_shared() {
    let ns = |name: &str, tenant: &str| {
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{t: {tenant}}}\n  annotations: {{o: x}}\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: default, namespace: {name}}}\nspec:\n  egress:\n  - hosts: [\"{tenant}/*\"]\n")
    };
    let text = [ns("a", "t1"), ns("b", "t1"), ns("c", "t2")].join("---\n");
    let mut tree = Tree::default();
    parse_file(&text, "f.yaml", &mut tree).unwrap();
    let (n, s) = (&tree.namespaces, &tree.sidecars);
    assert!(std::sync::Arc::ptr_eq(&n[0].labels, &n[1].labels));
    assert!(!std::sync::Arc::ptr_eq(&n[0].labels, &n[2].labels));
    assert!(std::sync::Arc::ptr_eq(&n[0].annotations, &n[2].annotations));
    assert_eq!(n[2].labels.get("t").map(Text::as_str), Some("t2"));
    assert!(std::sync::Arc::ptr_eq(&s[0].hosts, &s[1].hosts));
    assert_eq!(&*s[2].hosts, ["t2/*"]);
}

/// A million of these are held at once on a large tree: keep them in the allocator's
/// 128-byte size class.
#[test]
fn a_policy_takes_at_most_128_bytes() {
    assert!(std::mem::size_of::<Policy>() <= 128);
}

#[test]
fn syntax_and_type_errors_name_line_and_column() {
    let mut tree = Tree::default();
    let e = parse_file("a: [1,\n", "f.yaml", &mut tree).unwrap_err();
    assert!(matches!(e, TreeError::Parse { line: 2, .. }), "{e}");
    let text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: 5\n";
    let e = parse_file(text, "f.yaml", &mut tree).unwrap_err();
    assert!(e.to_string().starts_with("f.yaml:5:16"), "{e}");
}

#[test]
fn a_spec_read_before_gives_what_it_gave_and_a_different_one_is_read() {
    let np = |ns: &str, port: u16| {
        format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  policyTypes:\n  - Egress\n  # a comment inside the block\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n    ports:\n    - port: {port}\n")
    };
    // The second document's spec is the first's, skipped; the third differs in one digit.
    let text = [np("a", 80), np("b", 80), np("c", 81)].join("---\n");
    let mut tree = Tree::default();
    parse_file(&text, "f.yaml", &mut tree).unwrap();
    // A fresh thread reads the same documents with nothing remembered.
    let alone: Vec<Tree> = std::thread::scope(|s| {
        [np("b", 80), np("c", 81)]
            .map(|t| {
                s.spawn(move || {
                    let mut tree = Tree::default();
                    parse_file(&t, "g.yaml", &mut tree).unwrap();
                    tree
                })
                .join()
                .unwrap()
            })
            .into()
    });
    let [a, b, c] = [0, 1, 2].map(|i| &tree.policies[i]);
    assert_eq!(b.namespace.as_deref(), Some("b"));
    assert!(std::sync::Arc::ptr_eq(
        a.egress.as_ref().unwrap(),
        b.egress.as_ref().unwrap()
    ));
    assert_eq!(b.egress, alone[0].policies[0].egress);
    assert_eq!(b.pod_selector, alone[0].policies[0].pod_selector);
    assert_eq!(b.policy_types, Some((false, true)));
    assert_eq!(c.egress, alone[1].policies[0].egress);
    assert_ne!(c.egress, b.egress);
}
