use super::*;

use serde::Deserialize;

fn full(text: &str) -> Vec<serde_json::Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_json::Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The subset's parse, converted as verify converts the GitOps objects ([`Value::into_json`]),
/// checked against serde's conversion.
fn fast(text: &str) -> Option<Vec<serde_json::Value>> {
    parse(text).map(|docs| {
        docs.into_iter()
            .map(|d| {
                let json = d.clone().into_json();
                assert_eq!(json, serde_json::Value::deserialize(d).unwrap(), "{text}");
                json
            })
            .collect()
    })
}

#[test]
fn into_json_keeps_the_later_of_a_key_written_twice() {
    let doc = Value::Map(vec![
        ("a".into(), Value::Int(1)),
        ("b".into(), Value::Seq(vec![Value::Null, Value::Bool(true)])),
        ("a".into(), Value::Str("x".into())),
    ]);
    assert_eq!(
        doc.clone().into_json(),
        serde_json::Value::deserialize(doc).unwrap()
    );
    assert_eq!(
        Value::Map(vec![
            ("a".into(), Value::Int(1)),
            ("a".into(), Value::Int(2))
        ])
        .into_json(),
        serde_json::json!({ "a": 2 })
    );
}

fn same(text: &str) {
    assert_eq!(fast(text), Some(full(text)), "{text}");
}

#[test]
fn agrees_with_the_full_parser_on_the_subset() {
    same("a: 1\nb:\n  c: [] # x\n  d: {}\ne:\n- f: \"q#\"\n  g: 'it''s'\n-\n- x\n");
    same("# c\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    x: \"yes\"\n    y: yes\n    z: x0123\n---\n---\nk: v\n");
    same("spec:\n  policyTypes:\n  - Ingress\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: a\n    ports:\n    - port: 53\n      protocol: UDP\n");
    same("a: -1\nb: ~\nc:\nd: true\ne: x:y\nf: http://h/p\n");
    same("a: 'it''s #x'\nb: \"q \\\" #y\" # c\n");
    // A digit then a letter no number form has: a string (Flux's `interval: 10m`).
    same("interval: 10m\nb: 8Gi\nc: 1x\nd: -5m\ne: 3d4\n");
    // Comments and quotes on some lines and not others, a tab inside quotes.
    same("# c\na: 1\nb: \"x\"\nc: 2 # d\ne: f\ng: \"h\ti\"\nj: k\n");
    same("a: 'b'\nc: d#e\nf: g\n#\nh: \"#\"\n");
}

#[test]
fn hands_each_documents_spec_block_to_the_caller_and_skips_it_when_asked() {
    let text =
        "kind: A\nspec:\n  a: 1 # c\n\n  b:\n  - x\nafter: 2\n---\nspec:\n  c: 3\n---\nspec: 4\n";
    let mut asked = Vec::new();
    let docs = parse_with(text, &mut |entries, block| {
        asked.push((entries.len(), block));
        entries.is_empty()
    })
    .unwrap();
    assert_eq!(asked, [(1, "  a: 1 # c\n\n  b:\n  - x"), (0, "  c: 3")]);
    let [first, second, third] = &docs[..] else {
        panic!("three documents")
    };
    // Not skipped: parsed as ever, the text handed over.
    assert_eq!(
        serde_json::Value::deserialize(first.value.clone()).unwrap(),
        serde_json::json!({"kind": "A", "spec": {"a": 1, "b": ["x"]}, "after": 2})
    );
    assert!(first.spec.is_some_and(|s| !s.skipped));
    // Skipped: null, and the text the caller has the value of.
    assert_eq!(second.value.get("spec"), None);
    assert_eq!(
        serde_json::Value::deserialize(second.value.clone()).unwrap(),
        serde_json::json!({"spec": null})
    );
    assert!(second.spec.is_some_and(|s| s.skipped && s.text == "  c: 3"));
    // A scalar spec is no block.
    assert!(third.spec.is_none());
}

#[test]
fn splits_lines_as_str_lines_does() {
    for text in [
        "",
        "\n",
        "a",
        "a\n",
        "a\r\n",
        "a\r",
        "a\n\nb",
        "a\r\nb\r\n",
        "\r\n\r\n",
        "a\rb\n",
    ] {
        assert_eq!(
            lines_of(text).map(|(_, l)| l).collect::<Vec<_>>(),
            text.lines().collect::<Vec<_>>(),
            "{text:?}"
        );
        for (at, line) in lines_of(text) {
            assert!(text[at..].starts_with(line), "{text:?}");
        }
    }
}

#[test]
fn leaves_the_subset_to_the_full_parser() {
    for text in [
        "a: &x 1\nb: *x\n",
        "a: |\n  text\n",
        "a: [1, 2]\n",
        "a: \"multi\n  line\"\n",
        "a: 1.5\n",
        "a: 0x10\n",
        "a: 0xfF\n",
        "a: 0o17\n",
        "a: 0b101\n",
        "a: 1e5\n",
        "a: 1E+5\n",
        "a: 1_000\n",
        "a: 1:20\n",
        "a: 0123\n",
        "a: 1\na: 2\n",
        "a:\n\tb: 1\n",
        "a: 1\n  b: 2\n",
        "- - a\n",
        "a: b: c\n",
        "a: .Inf\n",
        "a: -.INF\n",
        "a: +.nan\n",
        "a: x \"y #z\"\n",
    ] {
        assert!(parse(text).is_none(), "{text}");
    }
}

#[test]
fn agrees_on_every_file_of_the_example_tree() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/output");
    let mut n = 0;
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            same(&std::fs::read_to_string(e.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 30);
}

/// The comment stripper's rules, one byte at a time: what `strip_comment` gives.
fn strip_comment_byte_by_byte(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(b'"') if c == b'\\' => i += 1,
            // `''` inside single quotes is an escaped quote, not the end.
            Some(b'\'') if c == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'#' if i == 0 || bytes[i - 1] == b' ' => return Some(&line[..i]),
                b'"' | b'\''
                    if i == 0 || matches!(bytes[i - 1], b' ' | b'[' | b'{' | b'-' | b':') =>
                {
                    quote = Some(c);
                }
                b'\t' => return None,
                _ => {}
            },
        }
        i += 1;
    }
    // An unterminated quote would continue on the next line: outside the subset.
    quote.is_none().then_some(line)
}

/// The `memchr` comment stripper gives what the byte loop gives.
#[test]
fn strips_comments_as_the_byte_loop_does() {
    for line in [
        "",
        "#",
        "a # b",
        "a#b",
        "a: \"x # y\" # z",
        "a: \"x \\\" # y\"",
        "a: \"x \\\\\" # y",
        "a: \"x \\",
        "a: \"open",
        "a: 'it''s # x' # y",
        "a: 'open",
        "a: 'x''",
        "a: b\"c # d",
        "- \"p, proj:t:owners, applications, get, t/t, allow\"",
        "[\"a\", 'b'] # c",
        "{\"a\": 1}",
        "a: x'y' # z",
        "a:\tb",
        "a: \"x\ty\"",
        "a: b # c\td",
        "a:\t# b",
        "a: 'x'\t",
    ] {
        assert_eq!(
            strip_comment(line),
            strip_comment_byte_by_byte(line),
            "{line:?}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn strips_comments_as_the_byte_loop_does_on_any_line(line in "[-a :#\"'\\\\\\[{x\t]{0,24}") {
        proptest::prop_assert_eq!(strip_comment(&line), strip_comment_byte_by_byte(&line));
    }
}
