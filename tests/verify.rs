//! `tenantc verify` on the compiled example, broken in each way a hand edit or a template could
//! break it: every mutation must be caught with exit 1 and a message naming the flow and object.

mod common;

use common::{Project, EXAMPLE};
use predicates::prelude::*;
use serde::Deserialize;

/// The example, compiled.
fn compiled() -> Project {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    p
}

impl Project {
    fn verify(&self) -> assert_cmd::assert::Assert {
        self.run("verify", &[])
    }
}

const ACME_NP: &str = "tenants/acme/acme/networkpolicies.yaml";
const GLOBEX_WEB_NP: &str = "tenants/globex/globex-web/networkpolicies.yaml";
const SAME_TENANT_IN: &str = "  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - key: kubernetes.io/metadata.name
          operator: In
          values:
          - globex-api
          - globex-batch
          - globex-web
";

#[test]
fn the_compiled_example_passes() {
    compiled()
        .verify()
        .code(0)
        .stdout(predicate::str::contains(
            "output matches tenants.toml: 10 namespaces, 51 NetworkPolicies, 10 Sidecars",
        ))
        .stdout(predicate::str::contains("0 violations, 0 warnings"))
        .stdout(predicate::str::contains("mesh scope: the sidecars of 10 namespaces receive configuration for 60 namespaces in total with these Sidecars, 140 without (57% less)"));
}

#[test]
fn dropping_only_the_default_deny_is_a_warning_as_isolation_still_holds() {
    // Kubernetes isolates a pod once any policy selecting it has the direction in its
    // policyTypes; allow-same-tenant does, so the flows stay exactly as intended.
    let p = compiled();
    let text = p.read_out(ACME_NP);
    let second = text.find("---\n").expect("several documents");
    std::fs::write(
        p.output().join(ACME_NP),
        format!("# edited\n{}", &text[second + 4..]),
    )
    .unwrap();
    p.verify()
        .code(0)
        .stdout(predicate::str::contains(
            "warning: namespace acme has no default-deny NetworkPolicy for ingress",
        ))
        .stdout(predicate::str::contains("0 violations, 2 warnings"));
}

#[test]
fn a_namespace_without_any_policy_has_no_default_deny() {
    let p = compiled();
    std::fs::write(p.output().join(ACME_NP), "# nothing here\n").unwrap();
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: namespace acme has no default deny for ingress: no NetworkPolicy that selects every pod has policyType Ingress, so all its pods accept traffic from anywhere"))
        .stdout(predicate::str::contains("violation: namespace acme has no default deny for egress"));
}

#[test]
fn default_deny_for_ingress_only_when_policy_types_are_omitted() {
    // Without policyTypes, a policy without egress rules isolates ingress only.
    let p = compiled();
    std::fs::write(
        p.output().join(ACME_NP),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: acme\nspec:\n  podSelector: {}\n",
    )
    .unwrap();
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: namespace acme has no default deny for egress"))
        .stdout(predicate::str::contains("namespace acme has no default deny for ingress").not())
        .stdout(predicate::str::contains(
            "violation: acme-jobs -> acme (every port) is allowed by tenants.toml (both belong to tenant acme) but blocked: acme's ingress policies do not allow it",
        ));
}

#[test]
fn widening_a_namespace_selector_to_everything() {
    let p = compiled();
    p.edit(
        GLOBEX_WEB_NP,
        SAME_TENANT_IN,
        "  ingress:\n  - from:\n    - namespaceSelector: {}\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: every namespace -> globex-web (every port) is allowed but tenants.toml allows ingress only from globex-api, globex-batch, globex-web, ingress-nginx, monitoring (output/tenants/globex/globex-web/networkpolicies.yaml: allow-same-tenant)",
    ));
}

#[test]
fn pointing_a_peer_at_another_tenant() {
    let p = compiled();
    p.edit(
        GLOBEX_WEB_NP,
        "          - globex-api\n",
        "          - acme\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: acme -> globex-web (every port) is allowed by globex-web's ingress policies but tenants.toml denies it (acme's egress policies still block it) (output/tenants/globex/globex-web/networkpolicies.yaml: allow-same-tenant)",
        ))
        .stdout(predicate::str::contains(
            "violation: globex-api -> globex-web (every port) is allowed by tenants.toml (both belong to tenant globex) but blocked: globex-web's ingress policies do not allow it",
        ));
}

#[test]
fn opening_both_sides_is_reported_as_one_allowed_flow() {
    let p = compiled();
    p.edit(
        GLOBEX_WEB_NP,
        "          - globex-api\n",
        "          - acme\n",
    );
    p.edit(
        ACME_NP,
        "  egress:\n  - to:\n    - namespaceSelector:\n        matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: In\n          values:\n          - acme\n",
        "  egress:\n  - to:\n    - namespaceSelector:\n        matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: In\n          values:\n          - globex-web\n          - acme\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: acme -> globex-web (every port) is allowed but tenants.toml denies it (output/tenants/acme/acme/networkpolicies.yaml: allow-same-tenant; output/tenants/globex/globex-web/networkpolicies.yaml: allow-same-tenant)",
    ));
}

#[test]
fn changing_a_port() {
    let p = compiled();
    p.edit(
        ACME_NP,
        "    - protocol: TCP\n      port: 53\n",
        "    - protocol: TCP\n      port: 5353\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: acme -> kube-system (pods k8s-app=kube-dns) TCP/5353 is allowed by acme's egress policies but tenants.toml denies it (output/tenants/acme/acme/networkpolicies.yaml: allow-platform)",
        ))
        .stdout(predicate::str::contains(
            "violation: acme -> kube-system (pods k8s-app=kube-dns) TCP/53 is allowed by tenants.toml (DNS) but blocked: acme's egress policies do not allow it",
        ));
}

#[test]
fn changing_a_protocol_and_an_end_port() {
    let p = compiled();
    p.edit(
        ACME_NP,
        "    - protocol: UDP\n      port: 53\n",
        "    - protocol: SCTP\n      port: 53\n      endPort: 60\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "SCTP/53-60 is allowed by acme's egress policies but tenants.toml denies it",
        ))
        .stdout(predicate::str::contains(
            "UDP/53 is allowed by tenants.toml (DNS) but blocked",
        ));
}

#[test]
fn every_pod_of_a_platform_namespace_is_wider_than_the_dns_pods() {
    let p = compiled();
    p.edit(
        ACME_NP,
        "      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n",
        "      podSelector: {}\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: acme -> kube-system (every pod) TCP/53, UDP/53 is allowed by acme's egress policies but tenants.toml denies it",
    ));
}

#[test]
fn adding_a_sidecar_host() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme/sidecar.yaml",
        "    - \"acme/*\"\n",
        "    - \"acme/*\"\n    - \"globex-web/*\"\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: the Sidecar of acme imports `globex-web/*` but tenants.toml does not let acme reach globex-web; the NetworkPolicies block it, so istiod pushes configuration for nothing (output/tenants/acme/acme/sidecar.yaml: default)",
    ));
}

#[test]
fn importing_everything() {
    let p = compiled();
    p.edit(
        "tenants/umbrella/umbrella/sidecar.yaml",
        "    - \"umbrella/*\"\n",
        "    - \"*/*\"\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("the Sidecar of umbrella imports `*/*`, services of every namespace, but tenants.toml lets umbrella reach only common-services, istio-system, kube-system, umbrella"))
        .stdout(predicate::str::contains("receive configuration for 70 namespaces in total"));
}

#[test]
fn removing_a_sidecar_host_that_policies_allow() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme/sidecar.yaml",
        "    - \"payments/*\"\n",
        "",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: tenants.toml lets acme reach payments but its Sidecar does not import `payments/*`, though the NetworkPolicies allow it: under REGISTRY_ONLY the mesh blocks this traffic",
    ));
}

#[test]
fn deleting_a_sidecar() {
    let p = compiled();
    std::fs::remove_file(p.output().join("tenants/acme/acme/sidecar.yaml")).unwrap();
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: namespace acme has no Sidecar (nor does the root namespace istio-system): its sidecars receive configuration for every namespace of the cluster",
        ))
        .stdout(predicate::str::contains("receive configuration for 66 namespaces in total with these Sidecars, 140 without"));
}

#[test]
fn a_root_namespace_sidecar_is_the_default_of_namespaces_without_one() {
    let p = compiled();
    std::fs::remove_file(p.output().join("tenants/umbrella/umbrella/sidecar.yaml")).unwrap();
    p.edit(
        "tenants/umbrella/kustomization.yaml",
        "- umbrella/sidecar.yaml\n",
        "",
    );
    std::fs::write(
        p.output().join("root-sidecar.yaml"),
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: default\n  namespace: istio-system\nspec:\n  egress:\n  - hosts:\n    - \"./*\"\n    - \"common-services/*\"\n    - \"istio-system/*\"\n    - kube-system/kube-dns.kube-system.svc.cluster.local\n  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n",
    )
    .unwrap();
    // Listed in the root kustomization: verify evaluates what the cluster receives.
    p.edit(
        "kustomization.yaml",
        "resources:\n",
        "resources:\n- root-sidecar.yaml\n",
    );
    // `./*` in the root default means the workload's own namespace, so umbrella is as intended.
    p.verify().code(0);
}

#[test]
fn two_selectorless_sidecars() {
    let p = compiled();
    let rel = "tenants/acme/acme/sidecar.yaml";
    let text = p.read_out(rel);
    std::fs::write(
        p.output().join(rel),
        format!(
            "{text}---\n{}",
            text.replace("name: default", "name: second")
        ),
    )
    .unwrap();
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: namespace acme has 2 Sidecars without workloadSelector; Istio's behaviour is then undefined",
    ));
}

#[test]
fn selecting_namespaces_by_a_label_tenants_can_set() {
    let p = compiled();
    p.edit(
        ACME_NP,
        "        matchLabels:\n          kubernetes.io/metadata.name: ingress-nginx\n",
        "        matchLabels:\n          example.com/role: ingress\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: a namespaceSelector uses label `example.com/role`, which anyone who can label a namespace can set on their own; select namespaces by `kubernetes.io/metadata.name` only (output/tenants/acme/acme/networkpolicies.yaml: allow-platform)",
        ))
        .stdout(predicate::str::contains("ingress-nginx -> acme (pods app.kubernetes.io/name=ingress-nginx) (every port) is allowed by tenants.toml (the ingress controller) but blocked"));
}

#[test]
fn a_tenant_label_selector_that_matches_another_tenant() {
    // Namespace labels come from the Namespace documents: this selector reaches globex.
    let p = compiled();
    p.edit(
        ACME_NP,
        "        matchLabels:\n          kubernetes.io/metadata.name: ingress-nginx\n",
        "        matchLabels:\n          example.com/plan: silver\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: globex-api -> acme (pods app.kubernetes.io/name=ingress-nginx) (every port) is allowed by acme's ingress policies but tenants.toml denies it",
    ));
}

#[test]
fn not_in_and_ip_blocks_and_everything() {
    let p = compiled();
    p.edit(
        GLOBEX_WEB_NP,
        SAME_TENANT_IN,
        "  ingress:\n  - from:\n    - namespaceSelector:\n        matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: NotIn\n          values: [acme]\n    - ipBlock:\n        cidr: 10.0.0.0/8\n  - {}\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: every namespace except acme -> globex-web (every port) is allowed",
        ))
        .stdout(predicate::str::contains(
            "violation: IP block 10.0.0.0/8 -> globex-web (every port) is allowed",
        ))
        .stdout(predicate::str::contains(
            "violation: every namespace and every IP address -> globex-web (every port) is allowed",
        ));
}

#[test]
fn named_ports_are_reported_as_unknown() {
    let p = compiled();
    p.edit(
        GLOBEX_WEB_NP,
        SAME_TENANT_IN,
        &format!("{SAME_TENANT_IN}    ports:\n    - port: http\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: umbrella\n    ports:\n    - port: metrics\n"),
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("warning: globex-api -> globex-web uses named port(s) TCP/http: tenantc cannot tell which port numbers they match"))
        .stdout(predicate::str::contains("violation: umbrella -> globex-web TCP/metrics (named port) is allowed by globex-web's ingress policies but tenants.toml denies it"));
}

#[test]
fn namespaces_missing_or_unknown_and_injection_labels() {
    let p = compiled();
    std::fs::remove_file(p.output().join("tenants/initech/initech/namespace.yaml")).unwrap();
    p.edit(
        "tenants/umbrella/umbrella/namespace.yaml",
        "    istio-injection: enabled\n",
        "",
    );
    std::fs::write(
        p.output().join("extra.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: rogue\n",
    )
    .unwrap();
    // Listed in the root kustomization: verify evaluates what the cluster receives.
    p.edit(
        "kustomization.yaml",
        "resources:\n",
        "resources:\n- extra.yaml\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: namespace initech (tenant initech) is in tenants.toml but the tree has no Namespace document for it"))
        .stdout(predicate::str::contains("violation: namespace umbrella lacks the label `istio-injection: enabled`, so its pods get no sidecar"))
        .stdout(predicate::str::contains("violation: namespace rogue is in the tree but not in tenants.toml (output/extra.yaml: rogue)"));
}

#[test]
fn a_hand_written_tree_with_other_names_and_merged_policies_passes() {
    // One policy per namespace instead of five, other names, matchLabels instead of
    // matchExpressions, no policyTypes (both directions have rules), ports spelled out.
    let p = compiled();
    std::fs::write(
        p.output()
            .join("tenants/umbrella/umbrella/networkpolicies.yaml"),
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: lockdown
  namespace: umbrella
  annotations: {argocd.argoproj.io/sync-options: "Prune=false, Delete=false", kustomize.toolkit.fluxcd.io/prune: disabled}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: everything-umbrella-needs, namespace: umbrella}
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: {}
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: monitoring}
      podSelector:
        matchLabels: {app.kubernetes.io/name: prometheus}
  egress:
  - to:
    - podSelector: {}
  - to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: common-services}
  - to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: kube-system}
      podSelector:
        matchExpressions:
        - {key: k8s-app, operator: In, values: [kube-dns]}
    ports:
    - {port: 53, protocol: UDP}
    - port: 53
  - to:
    - ipBlock: {cidr: 169.254.20.10/32}
    ports:
    - {port: 53, protocol: UDP}
    - port: 53
  - to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: istio-system}
      podSelector:
        matchLabels: {app: istiod}
    ports:
    - port: 15012
"#,
    )
    .unwrap();
    p.verify()
        .code(0)
        .stdout(predicate::str::contains("0 violations, 0 warnings"));
}

#[test]
fn unparseable_yaml_names_file_line_and_column() {
    let p = compiled();
    p.edit(ACME_NP, "  podSelector: {}\n", "  podSelector: {\n");
    p.verify()
        .code(2)
        .stderr(predicate::str::contains(
            "error: output/tenants/acme/acme/networkpolicies.yaml:",
        ))
        .stderr(predicate::str::contains("nothing was verified"));
    let p = compiled();
    p.edit(ACME_NP, "  podSelector: {}\n", "  podSelector: [1]\n");
    p.verify().code(2).stderr(predicate::str::contains(
        "error: output/tenants/acme/acme/networkpolicies.yaml:12:16: spec.podSelector: invalid type: sequence",
    ));
}

/// A namespace's access objects follow its Namespace in `namespace.yaml`, and verify reads them
/// apart from it: an error in either part is still reported at its place in the file.
#[test]
fn an_error_in_a_namespace_file_with_access_objects_is_at_its_line() {
    let file = "tenants/acme/acme/namespace.yaml";
    for (from, to, at) in [
        (
            "  labels:\n",
            "  labels: {\n",
            "did not find expected ',' or '}'",
        ),
        // A quote left open on the Namespace's last line: read alone, its document would end
        // at its own end.
        (
            "prune: disabled\n",
            "prune: \"disabled\n",
            "found unexpected document indicator",
        ),
        (
            "  labels:\n",
            "  labels: [1]\n  x:\n",
            "metadata.labels: invalid type: sequence",
        ),
        (
            "subjects:\n",
            "subjects: x\nfoo:\n",
            "subjects: invalid type: string \"x\"",
        ),
    ] {
        let p = compiled();
        let text = p.read_out(file);
        assert!(text.contains("\nkind: RoleBinding\n"), "{text}");
        p.edit(file, from, to);
        let edited = p.read_out(file);
        // Where the whole file's parser puts the first error, or the edited line.
        let (line, column) = serde_yaml::Deserializer::from_str(&edited)
            .find_map(|doc| serde_yaml::Value::deserialize(doc).err())
            .and_then(|e| e.location().map(|l| (l.line(), l.column())))
            .unwrap_or_else(|| {
                let line = edited[..edited.find(to).unwrap()].matches('\n').count() + 1;
                (line, to.find(": ").unwrap() + 3)
            });
        p.verify()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "error: output/{file}:{line}:{column}: {at}"
            )))
            .stderr(predicate::str::contains("nothing was verified"));
    }
}

#[test]
fn a_missing_tree_or_bad_config_is_exit_2() {
    let p = Project::new(EXAMPLE);
    p.verify().code(2).stderr(predicate::str::contains(
        "error: cannot read `output`: not a directory",
    ));
    let p = Project::new("version = 2\n");
    p.verify().code(2);
}

#[test]
fn json_output_and_mesh_scope_table() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme/sidecar.yaml",
        "    - \"payments/*\"\n",
        "",
    );
    let out = p
        .run("verify", &["--format", "json"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["status"], "violations");
    assert_eq!(v["summary"]["violations"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["check"], "reachable-not-in-sidecar");
    assert_eq!(f["from"], "acme");
    assert_eq!(f["to"], "payments");
    assert_eq!(
        f["objects"][0]["file"],
        "output/tenants/acme/acme/sidecar.yaml"
    );
    assert_eq!(v["mesh_scope"]["total_without_sidecars"], 140);
    let table = compiled()
        .run("verify", &["--mesh-scope"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("namespace        with Sidecars  without Sidecars\nacme                         8                14\n"), "{table}");
    assert!(
        table.contains("total                       60               140\n"),
        "{table}"
    );
}

#[test]
fn github_annotations_point_at_the_file() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme/sidecar.yaml",
        "    - \"payments/*\"\n",
        "",
    );
    tenantc_github(&p)
        .code(1)
        .stdout(predicate::str::contains(
            "::error file=output/tenants/acme/acme/sidecar.yaml,title=tenantc verify (reachable-not-in-sidecar)::tenants.toml lets acme reach payments",
        ));
}

fn tenantc_github(p: &Project) -> assert_cmd::assert::Assert {
    common::tenantc()
        .current_dir(p.path())
        .args([
            "--message-format",
            "github",
            "verify",
            "--config",
            "tenants.toml",
            "--output",
            "output",
        ])
        .assert()
}

#[test]
fn other_policy_kinds_are_violations() {
    let p = compiled();
    std::fs::write(
        p.output().join("calico.yaml"),
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: allow-all\nspec:\n  selector: all()\n  ingress:\n  - action: Allow\n",
    )
    .unwrap();
    // Listed in the root kustomization: verify evaluates what the cluster receives.
    p.edit(
        "kustomization.yaml",
        "resources:\n",
        "resources:\n- calico.yaml\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: GlobalNetworkPolicy allow-all (projectcalico.org/v3) in output/calico.yaml is a policy verify cannot evaluate: it can allow what the NetworkPolicies deny",
    ));
}

/// Issue 19, item 4a: each policy kind that takes precedence over NetworkPolicies, appended to a
/// generated file, allowing everything.
#[test]
fn policy_kinds_that_override_network_policies_appended_to_a_generated_file() {
    let kinds = [
        ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", "spec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: [{namespaces: {}}]\n"),
        ("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy", "spec:\n  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: [{namespaces: {}}]\n"),
        ("crd.projectcalico.org/v1", "GlobalNetworkPolicy", "spec:\n  selector: all()\n  ingress: [{action: Allow}]\n  egress: [{action: Allow}]\n"),
        ("projectcalico.org/v3", "NetworkPolicy", "spec:\n  selector: all()\n  ingress: [{action: Allow}]\n"),
        ("cilium.io/v2", "CiliumNetworkPolicy", "spec:\n  endpointSelector: {}\n  ingress: [{fromEntities: [all]}]\n"),
        ("cilium.io/v2", "CiliumClusterwideNetworkPolicy", "spec:\n  endpointSelector: {}\n  egress: [{toEntities: [all]}]\n"),
    ];
    for (api, kind, spec) in kinds {
        let p = compiled();
        let text = p.read_out(ACME_NP);
        std::fs::write(
            p.output().join(ACME_NP),
            format!("{text}---\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: allow-all\n  namespace: acme\n{spec}"),
        )
        .unwrap();
        p.verify().code(1).stdout(predicate::str::contains(format!(
            "violation: {kind} allow-all ({api}) in output/{ACME_NP} is a policy verify cannot evaluate"
        )));
    }
}

#[test]
fn a_policy_for_some_pods_does_not_cover_the_namespace() {
    let p = compiled();
    p.edit(
        ACME_NP,
        "  name: allow-same-tenant\n  namespace: acme\nspec:\n  podSelector: {}\n",
        "  name: allow-same-tenant\n  namespace: acme\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: acme-jobs -> acme (every port) is allowed by tenants.toml (both belong to tenant acme) but blocked: acme's ingress policies do not allow it for every pod (allow-same-tenant applies only to its pods app=web) (output/tenants/acme/acme/networkpolicies.yaml)",
    ));
}

#[test]
fn invalid_objects_are_violations() {
    let p = compiled();
    p.edit(
        ACME_NP,
        "          operator: In\n",
        "          operator: Equals\n",
    );
    std::fs::write(
        p.output().join("dup.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: stray\nspec:\n  podSelector: {}\n",
    )
    .unwrap();
    // Listed in the root kustomization: verify evaluates what the cluster receives.
    p.edit(
        "kustomization.yaml",
        "resources:\n",
        "resources:\n- dup.yaml\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: namespaceSelector: unknown operator `Equals` (use In, NotIn, Exists or DoesNotExist) (output/tenants/acme/acme/networkpolicies.yaml: allow-same-tenant)"))
        .stdout(predicate::str::contains("violation: namespace acme is defined twice (output/dup.yaml and output/tenants/acme/acme/namespace.yaml)"))
        .stdout(predicate::str::contains("violation: NetworkPolicy stray has no metadata.namespace, so nobody can tell which namespace it protects (output/dup.yaml: stray)"));
}

// The flows out of the cluster and across tenants (issue 9): each layer broken on its own.

const GLOBEX_API_NP: &str = "tenants/globex/globex-api/networkpolicies.yaml";

#[test]
fn widening_an_external_cidr() {
    let p = compiled();
    p.edit(
        GLOBEX_API_NP,
        "cidr: \"203.0.113.10/32\"",
        "cidr: \"203.0.113.0/24\"",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: globex-api -> IP 203.0.113.0/29, 203.0.113.8/31, 203.0.113.11/32",
        ))
        .stdout(predicate::str::contains(
            "TCP/5432 is allowed but tenants.toml grants globex-api external orders-db on TCP/5432",
        ));
}

#[test]
fn dropping_the_metadata_except() {
    let p = compiled();
    p.edit(ACME_NP, "        - \"169.254.169.254/32\"\n", "");
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: acme -> IP 169.254.169.254/32 TCP/443 is allowed but tenants.toml grants acme external stripe (api.stripe.com) on TCP/443",
    ));
}

#[test]
fn dropping_a_cluster_range_except() {
    let p = compiled();
    p.edit(ACME_NP, "        - \"10.244.0.0/16\"\n", "");
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: acme -> IP 10.244.0.0/16 TCP/443 is allowed but",
    ));
}

#[test]
fn exporting_a_service_entry_to_every_namespace() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme/serviceentries.yaml",
        "  exportTo:\n  - \".\"\n---",
        "  exportTo:\n  - \"*\"\n---",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: ServiceEntry external-stripe (acme) is exported to every namespace (exportTo [\"*\"]): every sidecar of the mesh learns api.stripe.com",
    ));
}

#[test]
fn exporting_a_service_entry_to_a_non_consumer() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme/serviceentries.yaml",
        "  exportTo:\n  - \".\"\n---",
        "  exportTo:\n  - \".\"\n  - umbrella\n---",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: ServiceEntry external-stripe (acme) puts api.stripe.com in the registry of umbrella, but tenants.toml does not let umbrella reach it; its NetworkPolicies block those ports outside the cluster, so the two layers disagree",
    ));
}

#[test]
fn deleting_a_service_entry_under_registry_only() {
    let p = compiled();
    p.edit(
        "tenants/globex/globex-web/serviceentries.yaml",
        "  name: external-orders-db\n",
        "  name: external-orders-db\n  labels: {}\n",
    );
    p.edit(
        "tenants/globex/globex-web/serviceentries.yaml",
        "  - \"203.0.113.10/32\"\n",
        "  - \"203.0.113.11/32\"\n",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: tenants.toml lets globex-web reach external orders-db on TCP/5432, but no ServiceEntry visible to globex-web and imported by its Sidecar covers it: under REGISTRY_ONLY its sidecars block what the NetworkPolicies allow",
    ));
}

#[test]
fn dropping_a_port_from_one_end_of_an_exposed_flow() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme-api/networkpolicies.yaml",
        "          - globex-web\n    ports:\n    - protocol: TCP\n      port: 8443\n",
        "          - globex-web\n    ports:\n    - protocol: TCP\n      port: 9443\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: globex-web -> acme-api TCP/8443 is allowed by tenants.toml (tenant globex consumes acme-api, exposed by tenant acme) but blocked: acme-api's ingress policies do not allow it",
        ))
        .stdout(predicate::str::contains(
            "violation: globex-web -> acme-api TCP/9443 is allowed by acme-api's ingress policies but tenants.toml denies it",
        ));
}

#[test]
fn a_non_consumer_reaching_an_exposed_namespace() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme-api/networkpolicies.yaml",
        "          - globex-web\n    ports:",
        "          - globex-web\n          - umbrella\n    ports:",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: umbrella -> acme-api TCP/8443 is allowed by acme-api's ingress policies but tenants.toml denies it (umbrella's egress policies still block it)",
    ));
}

#[test]
fn a_retired_namespace_of_the_example_passes_with_dns_caches_and_externals() {
    // globex-batch consumes orders-db and, like every namespace, the node-local DNS caches: once
    // retired it has no flow at all, and verify must expect none (no DNS cache, no external).
    let config = EXAMPLE.replace(
        "namespaces = [\"globex-web\", \"globex-api\", \"globex-batch\"]\n",
        "namespaces = [\"globex-web\", \"globex-api\", \"globex-batch\"]\nretired = [\"globex-batch\"]\n",
    );
    assert_ne!(config, EXAMPLE);
    let p = Project::new(&config);
    p.compile().success();
    assert!(!p
        .output()
        .join("tenants/globex/globex-batch/serviceentries.yaml")
        .exists());
    p.verify()
        .code(0)
        .stdout(predicate::str::contains("0 violations, 0 warnings"));
}

/// Appends `text` to a generated file of the tree.
fn append(p: &Project, rel: &str, text: &str) {
    let old = p.read_out(rel);
    std::fs::write(p.output().join(rel), format!("{old}---\n{text}")).unwrap();
}

/// Issue 19, item 4g: an object of another namespace in a tenant's directory (the mesh's root
/// namespace, which would disable mTLS mesh-wide; another tenant's namespace) is applied with
/// that tenant's directory and reviewed as its change.
#[test]
fn an_object_of_another_namespace_in_a_tenants_directory() {
    let p = compiled();
    append(
        &p,
        "tenants/acme/acme/peerauthentication.yaml",
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: istio-system\nspec:\n  mtls:\n    mode: DISABLE\n",
    );
    append(
        &p,
        "tenants/acme/acme-jobs/networkpolicies.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-nothing\n  namespace: globex-web\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: output/tenants/acme/acme/peerauthentication.yaml is in the directory of namespace acme but holds PeerAuthentication default of namespace istio-system: every object of a namespace's directory must be in that namespace",
        ))
        .stdout(predicate::str::contains(
            "violation: output/tenants/acme/acme-jobs/networkpolicies.yaml is in the directory of namespace acme-jobs but holds NetworkPolicy deny-nothing of namespace globex-web",
        ));
}

/// Issue 19, item 4b: a second Sidecar with a workloadSelector replaces the default one for the
/// pods it selects, so it is held to the same scope: no ALLOW_ANY (nor an unset mode, the mesh
/// default) under REGISTRY_ONLY, no host beyond the intent.
#[test]
fn a_selector_sidecar_that_lets_some_pods_escape_the_scope() {
    let selector = |name: &str, spec: &str| {
        format!("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: {name}\n  namespace: acme\nspec:\n  workloadSelector:\n    labels: {{app: web}}\n{spec}")
    };
    let p = compiled();
    append(
        &p,
        "tenants/acme/acme/sidecar.yaml",
        &selector(
            "escape",
            "  egress:\n  - hosts: [\"./*\"]\n  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n",
        ),
    );
    append(
        &p,
        "tenants/acme/acme-jobs/sidecar.yaml",
        &selector("wide", "  egress:\n  - hosts: [\"*/*\"]\n")
            .replace("namespace: acme\n", "namespace: acme-jobs\n"),
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: the Sidecar escape of acme has a workloadSelector and outboundTrafficPolicy ALLOW_ANY: Istio applies it instead of the namespace's default Sidecar to the pods it selects, so they may call hosts outside the registry, though tenants.toml asks for REGISTRY_ONLY (output/tenants/acme/acme/sidecar.yaml: escape)",
        ))
        .stdout(predicate::str::contains(
            "violation: the Sidecar wide of acme-jobs has a workloadSelector and outboundTrafficPolicy unset (the mesh default, ALLOW_ANY unless meshConfig says otherwise)",
        ))
        .stdout(predicate::str::contains(
            "violation: the Sidecar of acme-jobs imports `*/*`, services of every namespace, but tenants.toml lets acme-jobs reach only",
        ));
}

fn authorization_policy(namespace: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{spec}")
}

/// Issue 19, item 4c: wildcards in `source.namespaces` and `principals` are evaluated as istiod
/// compiles them (a namespace `v` is the regex `.*/ns/v/.*` with `*` as `.*`; a principal is
/// exact, `prefix*`, `*suffix` or `*`), in verify and in explain.
#[test]
fn authorization_sources_with_wildcards_are_evaluated_as_istio_does() {
    let p = compiled();
    let rel = "tenants/acme/acme/authorizationpolicies.yaml";
    append(
        &p,
        rel,
        &authorization_policy(
            "acme",
            "by-prefix",
            "  rules:\n  - from:\n    - source:\n        namespaces: [\"umb*\"]\n",
        ),
    );
    let rel_jobs = "tenants/acme/acme-jobs/authorizationpolicies.yaml";
    append(
        &p,
        rel_jobs,
        &authorization_policy(
            "acme-jobs",
            "by-principal",
            "  rules:\n  - from:\n    - source:\n        principals: [\"cluster.local/ns/initech/*\"]\n",
        ),
    );
    append(
        &p,
        "tenants/globex/globex-api/authorizationpolicies.yaml",
        &authorization_policy(
            "globex-api",
            "by-suffix",
            "  rules:\n  - from:\n    - source:\n        principals: [\"*/sa/deployer\"]\n",
        ),
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains(
            "violation: umbrella -> acme every TCP port is allowed by the AuthorizationPolicies of acme but tenants.toml does not allow it: a hole in the identity layer; the NetworkPolicies still block it (output/tenants/acme/acme/authorizationpolicies.yaml: by-prefix)",
        ))
        .stdout(predicate::str::contains(
            "violation: any namespace named like `umb*` -> acme every TCP port is allowed by the AuthorizationPolicies of acme",
        ))
        .stdout(predicate::str::contains(
            "violation: initech -> acme-jobs every TCP port is allowed by the AuthorizationPolicies of acme-jobs but tenants.toml does not allow it",
        ))
        .stdout(predicate::str::contains(
            "violation: every namespace -> globex-api every TCP port is allowed by the AuthorizationPolicies of globex-api but tenants.toml does not allow it",
        ));
    p.run("explain", &["initech", "acme-jobs"])
        .stdout(predicate::str::contains(
            "  AuthorizationPolicies of acme-jobs: allowed on every TCP port (source namespace initech, proven by mTLS)\n    by output/tenants/acme/acme-jobs/authorizationpolicies.yaml: by-principal\n",
        ));
}

/// Issue 19, item 4d: an ALLOW-everything policy with a selector opens some workloads to every
/// caller; tenants.toml's rule holds for every workload, so it is an over-allow.
#[test]
fn an_allow_all_policy_for_some_workloads_is_an_over_allow() {
    let p = compiled();
    append(
        &p,
        "tenants/acme/acme/authorizationpolicies.yaml",
        &authorization_policy(
            "acme",
            "open-web",
            "  selector:\n    matchLabels: {app: web}\n  rules:\n  - {}\n",
        ),
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: every namespace -> acme every TCP port is allowed by the AuthorizationPolicies of acme for the workloads the selector of open-web picks but tenants.toml does not allow it: a hole in the identity layer; the NetworkPolicies still block it (output/tenants/acme/acme/authorizationpolicies.yaml: open-web)",
    ));
}

/// Issue 19, item 4f: a ServiceEntry whose hosts stay but whose other fields send the traffic
/// elsewhere is compared whole with the entry tenants.toml makes.
#[test]
fn a_service_entry_is_compared_whole() {
    let se = |ns: &str| format!("tenants/acme/{ns}/serviceentries.yaml");
    let p = compiled();
    p.edit(
        &se("acme"),
        "  resolution: DNS\n",
        "  resolution: STATIC\n  endpoints:\n  - address: 198.51.100.7\n",
    );
    p.edit(
        &se("acme-api"),
        "  location: MESH_EXTERNAL\n",
        "  location: MESH_INTERNAL\n",
    );
    p.edit(
        &se("acme-jobs"),
        "    protocol: TLS\n",
        "    protocol: TLS\n    targetPort: 80\n",
    );
    p.edit(
        "shared/payments/serviceentries.yaml",
        "  resolution: DNS\n",
        "  resolution: DNS\n  subjectAltNames: [spiffe://evil]\n",
    );
    p.edit(
        "tenants/globex/globex-api/serviceentries.yaml",
        "  - \"203.0.113.10/32\"\n",
        "  - \"203.0.113.10/32\"\n  - \"169.254.20.10/32\"\n",
    );
    p.edit(
        "tenants/umbrella/umbrella/serviceentries.yaml",
        "  resolution: NONE\n",
        "  resolution: NONE\n  workloadSelector:\n    labels: {app: dns-proxy}\n",
    );
    let out = p.verify().code(1).get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    for needle in [
        "violation: ServiceEntry external-stripe (acme), seen by acme, is not the registry entry tenants.toml makes (external-stripe): resolution STATIC instead of DNS; endpoints, which send the traffic to other addresses than the hosts (output/tenants/acme/acme/serviceentries.yaml: external-stripe)",
        "violation: ServiceEntry external-stripe (acme-api), seen by acme-api, is not the registry entry tenants.toml makes (external-stripe): location MESH_INTERNAL instead of MESH_EXTERNAL",
        "violation: ServiceEntry external-stripe (acme-jobs), seen by acme-jobs, is not the registry entry tenants.toml makes (external-stripe): ports [443/TLS to 80] instead of [443/TLS]",
        "violation: ServiceEntry external-stripe (payments), seen by payments, is not the registry entry tenants.toml makes (external-stripe): subjectAltNames [spiffe://evil]",
        "violation: ServiceEntry external-orders-db (globex-api), seen by globex-api, is not the registry entry tenants.toml makes (external-orders-db): addresses [203.0.113.10/32, 169.254.20.10/32] instead of [203.0.113.10/32]",
        "violation: ServiceEntry node-local-dns (umbrella), seen by umbrella, is not the registry entry tenants.toml makes (node-local-dns): a workloadSelector, which sends the traffic to pods of the mesh",
    ] {
        assert!(out.contains(needle), "`{needle}` not in:\n{out}");
    }
}

/// Issue 19, item 8: under STRICT mTLS an out-of-mesh scraper reaches only the ports Istio's
/// agent and Envoy serve outside the inbound chain; explain and graph say so.
#[test]
fn an_out_of_mesh_scraper_under_strict_reaches_the_agent_ports_only() {
    let p = compiled();
    p.run("explain", &["monitoring", "acme"])
        .code(0)
        .stdout(predicate::str::contains(
            "  PeerAuthentication of acme: STRICT, and monitoring is outside the mesh: its plaintext is refused on every port the sidecars intercept; it reaches only TCP/15020-15021, TCP/15090, which Istio's agent (15020: merged metrics, 15021: health) and Envoy (15090: stats) serve outside the inbound chain\n",
        ))
        .stdout(predicate::str::contains(
            "  verdict: allowed on TCP/15020-15021, TCP/15090, every UDP port, every SCTP port, as tenants.toml says\n",
        ))
        .stdout(predicate::str::contains("allowed on every port, as").not());
    p.run("graph", &[]).code(0).stdout(predicate::str::contains(
        "  monitoring -- \"the mesh denies TCP/1-15019, TCP/15022-15089, TCP/15091-65535\" --> acme\n",
    ));
}

#[test]
fn a_weaker_pod_security_label_is_a_violation() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme-api/namespace.yaml",
        "pod-security.kubernetes.io/enforce: restricted",
        "pod-security.kubernetes.io/enforce: baseline",
    );
    p.edit(
        "tenants/globex/globex-web/namespace.yaml",
        "    pod-security.kubernetes.io/warn: restricted\n",
        "",
    );
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: the pod security enforce level of acme-api is `baseline`, weaker than tenants.toml's restricted (output/tenants/acme/acme-api/namespace.yaml: acme-api)"))
        .stdout(predicate::str::contains("violation: the pod security warn level of globex-web is unset (privileged by default), weaker than tenants.toml's restricted"));
}

#[test]
fn a_changed_pod_security_version_is_a_violation() {
    let p = compiled();
    p.edit(
        "tenants/initech/initech/namespace.yaml",
        "pod-security.kubernetes.io/enforce-version: v1.32",
        "pod-security.kubernetes.io/enforce-version: v1.20",
    );
    p.verify().code(1).stdout(predicate::str::contains(
        "violation: the label `pod-security.kubernetes.io/enforce-version` of initech is `v1.20`; tenants.toml pins `v1.32`",
    ));
}

#[test]
fn another_subject_or_role_in_a_binding_is_a_violation() {
    let p = compiled();
    let rb = "tenants/acme/acme-jobs/namespace.yaml";
    p.edit(rb, "  name: auditors\n", "  name: auditors\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: everyone\n");
    p.edit(rb, "  name: edit\n", "  name: cluster-admin\n");
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: group everyone may view acme-jobs, but tenants.toml does not say so (output/tenants/acme/acme-jobs/namespace.yaml: tenantc-viewers)"))
        .stdout(predicate::str::contains("violation: namespace acme-jobs has the RoleBinding tenantc-editors to the ClusterRole cluster-admin"))
        .stdout(predicate::str::contains("violation: namespace acme-jobs has no RoleBinding tenantc-editors: tenants.toml lets group acme-devs, serviceaccount ci/deployer edit it"));
}

#[test]
fn bindings_and_roles_tenantc_never_writes_are_violations() {
    let p = compiled();
    let extra = "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: backdoor\n  namespace: globex-api\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: everything\nsubjects:\n- kind: User\n  name: mallory\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: everything\n  namespace: globex-api\nrules:\n- apiGroups: [\"*\"]\n  resources: [\"*\"]\n  verbs: [\"*\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: all\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: globex-admins\n";
    let path = "tenants/globex/globex-api/namespace.yaml";
    let text = p.read_out(path);
    std::fs::write(p.output().join(path), format!("{text}{extra}")).unwrap();
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: namespace globex-api has the RoleBinding backdoor to the Role everything"))
        .stdout(predicate::str::contains("violation: the tree holds the Role everything"))
        .stdout(predicate::str::contains("violation: the ClusterRoleBinding all binds the ClusterRole cluster-admin in every namespace"));
}

/// A second binding of a level, a second quota and a second LimitRange `tenantc` in a managed
/// namespace: each is reported, beside the objects compile wrote, which stay as they are.
#[test]
fn a_second_binding_or_limit_in_a_namespace_is_a_violation() {
    let p = compiled();
    let jobs = "tenants/acme/acme-jobs/namespace.yaml";
    let text = p.read_out(jobs);
    let viewers = text
        .split("---\n")
        .find(|d| d.contains("name: tenantc-viewers"))
        .unwrap()
        .replace("  name: auditors\n", "  name: auditors\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: everyone\n");
    let acme = "tenants/acme/acme/namespace.yaml";
    let acme_text = p.read_out(acme);
    let quota = acme_text
        .split("---\n")
        .find(|d| d.contains("kind: ResourceQuota"))
        .unwrap()
        .replace("  name: tenantc\n", "  name: burst\n");
    let limits = acme_text
        .split("---\n")
        .find(|d| d.contains("kind: LimitRange"))
        .unwrap()
        .replace("memory: \"512Mi\"", "memory: \"2Gi\"");
    std::fs::write(p.output().join(jobs), format!("{text}---\n{viewers}")).unwrap();
    std::fs::write(
        p.output().join(acme),
        format!("{acme_text}---\n{quota}---\n{limits}"),
    )
    .unwrap();
    let out = p.verify().code(1).get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    for needle in [
        "violation: namespace acme-jobs has 2 RoleBindings tenantc-viewers (output/tenants/acme/acme-jobs/namespace.yaml: tenantc-viewers; output/tenants/acme/acme-jobs/namespace.yaml: tenantc-viewers)",
        "violation: group everyone may view acme-jobs, but tenants.toml does not say so",
        "violation: namespace acme has the ResourceQuota burst, which tenants.toml does not give it (output/tenants/acme/acme/namespace.yaml: burst)",
        "violation: the LimitRange of acme differs from tenants.toml: default memory is 2Gi (tenants.toml: 512Mi)",
    ] {
        assert!(out.contains(needle), "`{needle}` not in:\n{out}");
    }
    // The objects compile wrote are as tenants.toml says.
    assert!(!out.contains("the ResourceQuota of acme differs"), "{out}");
    assert!(!out.contains("default memory is 512Mi"), "{out}");
    assert!(!out.contains("may not view acme-jobs"), "{out}");
    assert_eq!(out.matches("violation:").count(), 4, "{out}");
}

#[test]
fn a_missing_or_different_quota_or_limit_range_is_a_violation() {
    let p = compiled();
    p.edit(
        "tenants/acme/acme/namespace.yaml",
        "requests.cpu: \"16\"",
        "requests.cpu: \"64\"",
    );
    p.edit(
        "tenants/globex/globex-web/namespace.yaml",
        "memory: \"512Mi\"",
        "memory: \"8Gi\"",
    );
    // The ResourceQuota's document taken out of namespace.yaml, its LimitRange kept.
    let access = "tenants/initech/initech/namespace.yaml";
    let text = p.read_out(access);
    let (head, rest) = text
        .split_once("apiVersion: v1\nkind: ResourceQuota\n")
        .unwrap();
    let (_, limit_range) = rest.split_once("---\n").unwrap();
    std::fs::write(p.output().join(access), format!("{head}{limit_range}")).unwrap();
    p.verify()
        .code(1)
        .stdout(predicate::str::contains("violation: the ResourceQuota of acme differs from tenants.toml: hard requests.cpu is 64 (tenants.toml: 16)"))
        .stdout(predicate::str::contains("violation: the LimitRange of globex-web differs from tenants.toml: default memory is 8Gi (tenants.toml: 512Mi)"))
        .stdout(predicate::str::contains("violation: namespace initech has no ResourceQuota `tenantc`, which tenants.toml gives it"));
}
