//! How Kubernetes evaluates NetworkPolicies, case by case.

use super::*;
use crate::verify::tree::Expression;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn pairs(pairs: &[(&str, &str)]) -> crate::verify::tree::LabelPairs {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

fn expr(key: &str, op: &str, values: &[&str]) -> Expression {
    Expression {
        key: key.into(),
        operator: op.into(),
        values: values.iter().map(|v| Text::from(*v)).collect(),
    }
}

#[test]
fn match_expression_operators() {
    let l = labels(&[("app", "web"), ("tier", "front")]);
    let sel = |e: Expression| Selector {
        match_labels: Default::default(),
        match_expressions: vec![e],
    };
    assert!(sel(expr("app", "In", &["web", "api"])).matches(&l));
    assert!(!sel(expr("app", "In", &["api"])).matches(&l));
    assert!(sel(expr("app", "NotIn", &["api"])).matches(&l));
    assert!(!sel(expr("app", "NotIn", &["web"])).matches(&l));
    assert!(
        sel(expr("missing", "NotIn", &["x"])).matches(&l),
        "NotIn matches an absent key"
    );
    assert!(sel(expr("tier", "Exists", &[])).matches(&l));
    assert!(!sel(expr("missing", "Exists", &[])).matches(&l));
    assert!(sel(expr("missing", "DoesNotExist", &[])).matches(&l));
    assert!(!sel(expr("app", "DoesNotExist", &[])).matches(&l));
    assert!(!sel(expr("app", "Equals", &["web"])).matches(&l));
    assert_eq!(sel(expr("app", "Equals", &["web"])).problems().len(), 1);
    assert!(Selector::default().matches(&l), "{{}} selects everything");
    let both = Selector {
        match_labels: labels(&[("app", "web")])
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        match_expressions: vec![expr("tier", "In", &["back"])],
    };
    assert!(
        !both.matches(&l),
        "matchLabels and matchExpressions are ANDed"
    );
}

#[test]
fn policy_types_default() {
    assert_eq!(policy_directions(None, false), (true, false));
    assert_eq!(policy_directions(None, true), (true, true));
    assert_eq!(policy_directions(Some((false, true)), false), (false, true));
    // `policyTypes: []` is read as absent: see tree::parse::tests.
}

#[test]
fn ports_protocol_default_end_port_and_named() {
    let port = |proto: Option<&str>, port: Option<PortValue>, end: Option<i64>| PolicyPort {
        protocol: proto.map(Text::from),
        port,
        end_port: end,
    };
    let (set, named, problems) = ports_of(Some(&[
        port(None, Some(PortValue::Number(8000)), Some(8080)),
        port(Some("UDP"), Some(PortValue::Number(53)), None),
        port(Some("SCTP"), None, None),
        port(None, Some(PortValue::Name("http".into())), None),
    ]));
    assert!(set.contains(Protocol::Tcp, 8000) && set.contains(Protocol::Tcp, 8080));
    assert!(!set.contains(Protocol::Tcp, 8081) && !set.contains(Protocol::Udp, 8000));
    assert!(set.contains(Protocol::Udp, 53) && set.contains(Protocol::Sctp, 9));
    assert_eq!(named, ["TCP/http"]);
    assert!(problems.is_empty());
    assert_eq!(
        set.to_strings(),
        ["TCP/8000-8080", "UDP/53", "every SCTP port"]
    );
    assert!(ports_of(None).0.is_all());
    assert!(
        ports_of(Some(&[])).0.is_all(),
        "an empty list matches every port"
    );
    let (_, _, problems) = ports_of(Some(&[port(None, Some(PortValue::Number(90)), Some(80))]));
    assert_eq!(problems.len(), 1);
}

#[test]
fn port_set_algebra() {
    let all = PortSet::all();
    let dns = {
        let mut s = PortSet::single(Protocol::Udp, 53);
        s.add(Protocol::Tcp, 53, 53);
        s
    };
    let rest = all.minus(&dns);
    assert!(!rest.contains(Protocol::Tcp, 53) && rest.contains(Protocol::Tcp, 54));
    assert!(all.covers(&dns) && !dns.covers(&all));
    assert_eq!(
        dns.intersect(&PortSet::single(Protocol::Tcp, 53)),
        PortSet::single(Protocol::Tcp, 53)
    );
    let mut joined = rest.clone();
    joined.union_with(&dns);
    assert!(joined.is_all());
}

#[test]
fn namespace_selection_by_index() {
    let mut index = LabelIndex::default();
    let (a, b) = (pairs(&[("team", "a")]), pairs(&[("team", "b")]));
    index.add(1, &a.into());
    index.add(2, &b.into());
    let names = ["other", "x", "y", "z"];
    let mut intern = |n: &str| names.iter().position(|m| *m == n).unwrap_or(9) as u32;
    let sel = Selector {
        match_labels: labels(&[("team", "a")])
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        match_expressions: vec![],
    };
    assert_eq!(index.select(&sel, &mut intern), NsSet::Only(vec![1]));
    let not_b = Selector {
        match_labels: Default::default(),
        match_expressions: vec![expr("team", "NotIn", &["b"])],
    };
    let s = index.select(&not_b, &mut intern);
    assert!(s.contains(1) && !s.contains(2) && s.contains(0), "{s:?}");
    let named = Selector {
        match_labels: Default::default(),
        match_expressions: vec![expr(NAME_LABEL, "In", &["y", "z"])],
    };
    assert_eq!(index.select(&named, &mut intern), NsSet::Only(vec![2, 3]));
    assert_eq!(
        index.select(&Selector::default(), &mut intern),
        NsSet::AllExcept(vec![])
    );
}

/// A key is indexed when first asked for; asking again, for a pair or for the key alone,
/// answers from that index as a search of every namespace's labels does.
#[test]
fn a_key_indexed_on_demand_answers_every_later_question() {
    let mut index = LabelIndex::default();
    let namespaces = [
        pairs(&[("team", "a"), ("tier", "1")]),
        pairs(&[("team", "b")]),
        pairs(&[("tier", "1")]),
        pairs(&[(NAME_LABEL, "x"), ("team", "a")]),
    ];
    for (id, l) in namespaces.into_iter().enumerate() {
        index.add(id as u32 + 1, &l.into());
    }
    // Namespace 4 again (a namespace defined twice is added once per document).
    index.add(4, &pairs(&[("team", "a")]).into());
    let mut intern = |_: &str| 9;
    let team_a = Selector {
        match_labels: labels(&[("team", "a")])
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        match_expressions: vec![],
    };
    for _ in 0..2 {
        assert_eq!(index.select(&team_a, &mut intern), NsSet::Only(vec![1, 4]));
    }
    let only = |e: Expression| Selector {
        match_labels: Default::default(),
        match_expressions: vec![e],
    };
    assert_eq!(
        index.select(&only(expr("team", "Exists", &[])), &mut intern),
        NsSet::Only(vec![1, 2, 4])
    );
    assert_eq!(
        index.select(&only(expr("tier", "DoesNotExist", &[])), &mut intern),
        NsSet::AllExcept(vec![1, 3])
    );
    assert_eq!(
        index.select(&only(expr("tier", "In", &["1", "2"])), &mut intern),
        NsSet::Only(vec![1, 3])
    );
    assert_eq!(
        index.select(&only(expr("owner", "Exists", &[])), &mut intern),
        NsSet::Only(vec![])
    );
}

#[test]
fn a_set_asked_from_a_cursor_answers_as_a_search_does_in_any_order() {
    let v: Vec<u32> = (0..500).map(|i| i * 3).collect();
    for set in [NsSet::Only(v.clone()), NsSet::AllExcept(v.clone())] {
        // Ascending (the walk), then descending and jumping (the searches it falls back to).
        let asked: Vec<u32> = (0..1600)
            .chain((0..1600).rev())
            .chain([7, 1400, 3, 1499, 0, 1497])
            .collect();
        let mut at = 0;
        for id in asked {
            assert_eq!(set.contains_from(id, &mut at), set.contains(id), "{id}");
        }
    }
    assert_eq!(seek_from(&v, 10_000, |&x| x < 9), 3);
    assert_eq!(seek_from::<u32>(&[], 0, |&x| x < 9), 0);
}
