//! The draft tenants.toml: what [`super::infer`] found, written as tenants.toml with a comment
//! above every entry saying why. What the draft withholds (a grant that would open flows the
//! imported policies deny) is written commented out, with the reason, for a person to decide.

use super::infer::{Component, Consumers, Draft, Labels};

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A TOML key: bare when it can be.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        s.to_owned()
    } else {
        quoted(s)
    }
}

fn table(l: &Labels) -> String {
    if l.is_empty() {
        return "{}".into();
    }
    let pairs: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{} = {}", quoted(k), quoted(v)))
        .collect();
    format!("{{ {} }}", pairs.join(", "))
}

fn strings(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", ")
    )
}

fn ports(v: &[u16]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Comment text on one or more lines of at most 100 characters, each starting with `# `.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + word.len() + 1 > 100 && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

fn component(c: &Component, with_ports: bool) -> String {
    let mut parts = vec![format!("namespace = {}", quoted(&c.namespace))];
    parts.push(format!("pod_labels = {}", table(&c.pod_labels)));
    if with_ports && !c.ports.is_empty() {
        parts.push(format!("ports = {}", ports(&c.ports)));
    }
    if c.mesh {
        parts.push("mesh = true".into());
    }
    format!("{{ {} }}", parts.join(", "))
}

/// The draft as tenants.toml text; `sources` names what was imported, for the first comment.
pub fn to_toml(d: &Draft, sources: &str) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        &format!("tenants.toml drafted by `tenantc import` from {sources}."),
    );
    comment(&mut out, "Every entry says why it was inferred; lines commented out are grants that would open flows the imported policies deny. Review the report, then `tenantc compile` and `tenantc verify`.");
    out.push_str("version = 1\n");

    if let Some(c) = &d.cluster {
        out.push_str("\n[cluster]\n");
        if c.guessed {
            comment(&mut out, "GUESSED from the ipBlocks' excepts: replace with the pod range (--cluster-cidr) and the Service range (--service-cluster-ip-range), or import again with --pod-cidrs and --service-cidrs.");
        }
        out.push_str(&format!("pod_cidrs = {}\n", strings(&c.pod_cidrs)));
        out.push_str(&format!("service_cidrs = {}\n", strings(&c.service_cidrs)));
    }

    let platform = d.dns.is_some()
        || !d.dns_cidrs.is_empty()
        || d.ingress.is_some()
        || d.monitoring.is_some()
        || d.kube_api.is_some();
    if platform {
        out.push_str("\n[platform]\n");
    }
    match (&d.dns, d.dns_cidrs.is_empty()) {
        (Some(dns), _) => {
            comment(&mut out, &format!("DNS: {}.", dns.why));
            let mut parts = vec![
                format!("namespace = {}", quoted(&dns.namespace)),
                format!("pod_labels = {}", table(&dns.pod_labels)),
                format!("ports = {}", ports(&dns.ports)),
            ];
            if !d.dns_cidrs.is_empty() {
                parts.push(format!("cidrs = {}", strings(&d.dns_cidrs)));
            }
            out.push_str(&format!("dns = {{ {} }}\n", parts.join(", ")));
        }
        (None, false) => {
            comment(&mut out, "DNS: no policy names the DNS pods; tenantc's default (kube-system, k8s-app=kube-dns, 53) applies. Node-local DNS caches reached by address:");
            out.push_str(&format!("dns = {{ cidrs = {} }}\n", strings(&d.dns_cidrs)));
        }
        (None, true) => {}
    }
    if let Some(i) = &d.ingress {
        comment(&mut out, &format!("The ingress controller: {}.", i.why));
        out.push_str(&format!("ingress = {}\n", component(i, false)));
    }
    if let Some(mon) = &d.monitoring {
        comment(&mut out, &format!("Monitoring: {}.", mon.why));
        match &mon.withheld {
            Some(why) => {
                comment(&mut out, &format!("Withheld: {why}."));
                out.push_str(&format!("# monitoring = {}\n", component(mon, true)));
            }
            None => out.push_str(&format!("monitoring = {}\n", component(mon, true))),
        }
    }
    if let Some(k) = &d.kube_api {
        comment(&mut out, &format!("The Kubernetes API: {}.", k.why));
        out.push_str(&format!(
            "kube_api = {{ cidrs = {}, ports = {} }}\n",
            strings(&k.cidrs),
            ports(&k.ports)
        ));
    }

    if let Some(mesh) = &d.mesh {
        out.push_str("\n[mesh]\n");
        comment(&mut out, &format!("{}.", mesh.why));
        out.push_str(&format!("namespace = {}\n", quoted(&mesh.namespace)));
        if !mesh.pod_labels.is_empty()
            && mesh.pod_labels != Labels::from([("app".into(), "istiod".into())])
        {
            out.push_str(&format!("pod_labels = {}\n", table(&mesh.pod_labels)));
        }
        if let Some(o) = &mesh.outbound_traffic_policy {
            out.push_str(&format!("outbound_traffic_policy = {}\n", quoted(o)));
        }
        if let Some(m) = &mesh.mtls {
            out.push_str(&format!("mtls = {}\n", quoted(m)));
        }
        if mesh.authorization {
            out.push_str("authorization = true\n");
        }
    }

    for s in &d.shared {
        out.push_str(&format!("\n[shared.{}]\n", key(&s.name)));
        comment(&mut out, &format!("Shared: {}.", s.why));
        match &s.consumers {
            Consumers::Every => out.push_str("consumers = \"*\"\n"),
            Consumers::Names(n) => out.push_str(&format!("consumers = {}\n", strings(n))),
        }
        if !s.ports.is_empty() {
            out.push_str(&format!("ports = {}\n", ports(&s.ports)));
        }
        if s.ingress {
            out.push_str("ingress = true\n");
        }
        if !s.labels.is_empty() {
            out.push_str(&format!("labels = {}\n", table(&s.labels)));
        }
        if !s.annotations.is_empty() {
            out.push_str(&format!("annotations = {}\n", table(&s.annotations)));
        }
    }

    for e in &d.externals {
        let prefix = if d.externals_withheld { "# " } else { "" };
        out.push_str(&format!("\n{prefix}[external.{}]\n", key(&e.name)));
        comment(&mut out, &format!("{}.", e.why));
        if d.externals_withheld {
            comment(
                &mut out,
                "Withheld until [cluster] gives the pod and Service ranges.",
            );
        }
        if !e.hosts.is_empty() {
            out.push_str(&format!("{prefix}hosts = {}\n", strings(&e.hosts)));
        }
        out.push_str(&format!("{prefix}cidrs = {}\n", strings(&e.cidrs)));
        out.push_str(&format!("{prefix}ports = {}\n", ports(&e.ports)));
        out.push_str(&format!("{prefix}protocol = {}\n", quoted(&e.protocol)));
        out.push_str(&format!("{prefix}consumers = {}\n", strings(&e.consumers)));
    }

    for t in &d.tenants {
        out.push_str(&format!("\n[tenants.{}]\n", key(&t.name)));
        comment(&mut out, &format!("Tenant: {}.", t.why));
        if t.namespaces != [t.name.clone()] {
            out.push_str(&format!("namespaces = {}\n", strings(&t.namespaces)));
        }
        if !t.labels.is_empty() {
            out.push_str(&format!("labels = {}\n", table(&t.labels)));
        }
        if !t.annotations.is_empty() {
            out.push_str(&format!("annotations = {}\n", table(&t.annotations)));
        }
        if !t.ingress.is_empty() {
            if t.ingress.len() == t.namespaces.len() {
                out.push_str("ingress = true\n");
            } else {
                out.push_str(&format!("ingress = {}\n", strings(&t.ingress)));
            }
        }
        if !t.ingress_withheld.is_empty() {
            comment(&mut out, &format!("Withheld: {} admit the ingress controller on some ports only, and tenantc admits it on every port.", t.ingress_withheld.join(", ")));
            let mut all = t.ingress.clone();
            all.extend(t.ingress_withheld.iter().cloned());
            all.sort();
            out.push_str(&format!("# ingress = {}\n", strings(&all)));
        }
        if t.kube_api {
            out.push_str("kube_api = true\n");
        }
        for x in &t.exposes {
            out.push_str(&format!(
                "\n[tenants.{}.expose.{}]\n",
                key(&t.name),
                key(&x.namespace)
            ));
            comment(&mut out, &format!("Exposed: {}.", x.why));
            if x.consumers == ["*"] {
                out.push_str("consumers = \"*\"\n");
            } else {
                out.push_str(&format!("consumers = {}\n", strings(&x.consumers)));
            }
            if !x.ports.is_empty() {
                out.push_str(&format!("ports = {}\n", ports(&x.ports)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_strings_are_quoted_when_they_must_be() {
        assert_eq!(key("acme-api"), "acme-api");
        assert_eq!(key("example.com/plan"), "\"example.com/plan\"");
        let v: toml::Table = toml::from_str(&format!("k = {}", quoted("a\"b\n'c"))).unwrap();
        assert_eq!(v["k"].as_str(), Some("a\"b\n'c"));
        let mut out = String::new();
        comment(&mut out, &"word ".repeat(40));
        assert!(out.lines().all(|l| l.starts_with("# ") && l.len() <= 100));
    }
}
