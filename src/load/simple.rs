//! A parser of the TOML tenants.toml files are written in: tables, keys, one-line values (basic
//! strings without escapes, decimal integers, booleans, inline tables) and arrays, which may span
//! lines. It builds the tree the `toml` crate builds, the same values with the same spans, in
//! half the time: 16 instead of 34 ms for the 3.4 MB of 10,000 tenants with every access key
//! (`bench/gen.py 10000 --access`), on one core. That parse was the largest part of the time
//! the access keys add to a no-op compile.
//!
//! Anything else (escapes, literal or multi-line strings, floats, dates, dotted keys, arrays of
//! tables, `\r`, tabs or non-ASCII text in strings and comments) and anything the crate would
//! refuse (a key or table defined twice, a header through a value) returns `None`: the caller then
//! parses the text with the crate, which reads or reports it as the TOML 1.1 its tests pin.
//!
//! The crate's spans, which the loader's messages point at:
//! - a key: its token, quotes included; a string: its token, quotes included;
//! - an array or an inline table: from its `[` or `{` to its `]` or `}`;
//! - a table a header defines: the header, `[` to `]`; a table a longer header only opens (the
//!   `tenants` of `[tenants.acme]`): the key that opened it first.

use std::borrow::Cow;
use std::ops::Range;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

type Key<'a> = Spanned<Cow<'a, str>>;
type Value<'a> = Spanned<DeValue<'a>>;
/// A header's keys and span.
type Header<'a> = (Vec<Key<'a>>, Range<usize>);

/// `source[range]` parsed as the crate parses that text alone, with spans into `source`; `None`
/// outside the subset this parser reads, or where the crate would report an error.
pub(super) fn parse(source: &str, range: Range<usize>) -> Option<DeTable<'_>> {
    let mut p = Parser {
        s: source,
        b: &source.as_bytes()[..range.end],
        i: range.start,
    };
    let mut doc = Document {
        source: source.as_bytes(),
        root: DeTable::new(),
        current: None,
    };
    loop {
        p.blanks();
        match p.peek() {
            None => break,
            Some(b'\n') => p.i += 1,
            Some(b'#') => p.comment()?,
            Some(b'[') => {
                let header = p.header()?;
                p.end_of_line()?;
                doc.start_table(header)?;
            }
            Some(_) => {
                let key = p.key()?;
                p.blanks();
                p.eat(b'=')?;
                p.blanks();
                let value = p.value(0)?;
                p.end_of_line()?;
                let table = doc.current.as_mut().map_or(&mut doc.root, |(_, t)| t);
                insert_new(table, key, value)?;
            }
        }
    }
    doc.finish_table()?;
    Some(doc.root)
}

/// How deep arrays and inline tables may nest here (the crate's own limit is higher; deeper
/// values are left to it).
const MAX_DEPTH: usize = 32;

/// How many keys a header may have here (the crate refuses 80).
const MAX_KEYS: usize = 16;

/// Whether `b` may stand in a bare key.
fn bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Whether `b` may stand in a basic string or a quoted key here: printable ASCII but the quote
/// and the backslash (TOML allows more; the rest is left to the crate).
fn plain(b: u8) -> bool {
    (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\'
}

struct Parser<'a> {
    s: &'a str,
    /// The source's bytes up to the end of the range parsed.
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// Spaces and tabs.
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// A comment, up to its line's end (not consumed).
    fn comment(&mut self) -> Option<()> {
        self.eat(b'#')?;
        while let Some(b) = self.peek() {
            match b {
                b'\n' => break,
                b'\t' | b' '..=b'~' => self.i += 1,
                _ => return None,
            }
        }
        Some(())
    }

    /// The rest of a line after a key-value or a header: blanks, a comment, the line's end.
    fn end_of_line(&mut self) -> Option<()> {
        self.blanks();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.i += 1;
                Some(())
            }
            Some(_) => None,
        }
    }

    /// Blanks, line ends and comments, as arrays allow between their values.
    fn gaps(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.i += 1,
                Some(b'#') => self.comment()?,
                _ => return Some(()),
            }
        }
    }

    /// A bare or a quoted key.
    fn key(&mut self) -> Option<Key<'a>> {
        let start = self.i;
        let text = if self.peek()? == b'"' {
            self.quoted()?
        } else {
            while self.peek().is_some_and(bare) {
                self.i += 1;
            }
            (self.i > start).then(|| &self.s[start..self.i])?
        };
        Some(Spanned::new(start..self.i, Cow::Borrowed(text)))
    }

    /// A basic string without escapes, one line: its text between the quotes.
    fn quoted(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        // The string runs to its first byte that is not `plain`: a quote or a backslash (found
        // with `memchr`), or a byte before them that is not printable ASCII (rare: checked
        // eight bytes at a time, then looked for byte by byte).
        let rest = &self.b[start..];
        let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
        self.i = start
            + if crate::text::is_printable_ascii(&rest[..end]) {
                end
            } else {
                rest.iter().position(|&b| !plain(b)).unwrap_or(rest.len())
            };
        let text = &self.s[start..self.i];
        self.eat(b'"')?;
        // `"""` opens a multi-line string, left to the crate.
        if text.is_empty() && self.peek() == Some(b'"') {
            return None;
        }
        Some(text)
    }

    /// `[key.key…]`, with blanks around the keys and dots: the keys and the header's span.
    fn header(&mut self) -> Option<Header<'a>> {
        let start = self.i;
        self.eat(b'[')?;
        if self.peek() == Some(b'[') {
            return None;
        }
        let mut keys = Vec::with_capacity(2);
        loop {
            self.blanks();
            if keys.len() == MAX_KEYS {
                return None;
            }
            keys.push(self.key()?);
            self.blanks();
            match self.peek()? {
                b'.' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some((keys, start..self.i));
                }
                _ => return None,
            }
        }
    }

    /// A value; `depth` arrays and inline tables hold it.
    fn value(&mut self, depth: usize) -> Option<Value<'a>> {
        let start = self.i;
        let value = match self.peek()? {
            b'"' => DeValue::String(Cow::Borrowed(self.quoted()?)),
            b'[' if depth < MAX_DEPTH => DeValue::Array(self.array(depth + 1)?),
            b'{' if depth < MAX_DEPTH => DeValue::Table(self.inline_table(depth + 1)?),
            b't' | b'f' => {
                let word = self.word();
                match word {
                    "true" => DeValue::Boolean(true),
                    "false" => DeValue::Boolean(false),
                    _ => return None,
                }
            }
            b'0'..=b'9' => {
                let word = self.word();
                let digits = word.bytes().all(|b| b.is_ascii_digit());
                if !digits || (word.len() > 1 && word.starts_with('0')) {
                    return None;
                }
                // The crate's integer type has no public constructor: it reads the digits.
                DeValue::parse(word).ok()?.into_inner()
            }
            _ => return None,
        };
        Some(Spanned::new(start..self.i, value))
    }

    /// The run of bytes up to the next delimiter, for a boolean or an integer.
    fn word(&mut self) -> &'a str {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| !matches!(b, b' ' | b'\t' | b'\n' | b',' | b']' | b'}' | b'#'))
        {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    /// `[value, value, …]`, a trailing comma allowed, across lines and comments.
    fn array(&mut self, depth: usize) -> Option<DeArray<'a>> {
        self.eat(b'[')?;
        let mut array = DeArray::new();
        loop {
            self.gaps()?;
            if self.eat(b']').is_some() {
                return Some(array);
            }
            array.push(self.value(depth)?);
            self.gaps()?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(array);
                }
                _ => return None,
            }
        }
    }

    /// `{ key = value, … }` on one line, no trailing comma.
    fn inline_table(&mut self, depth: usize) -> Option<DeTable<'a>> {
        self.eat(b'{')?;
        let mut table = DeTable::new();
        self.blanks();
        if self.eat(b'}').is_some() {
            return Some(table);
        }
        loop {
            self.blanks();
            let key = self.key()?;
            self.blanks();
            self.eat(b'=')?;
            self.blanks();
            let value = self.value(depth)?;
            insert_new(&mut table, key, value)?;
            self.blanks();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(table);
                }
                _ => return None,
            }
        }
    }
}

/// Inserts `key = value` into `table`; `None` when the key is there already.
fn insert_new<'a>(table: &mut DeTable<'a>, key: Key<'a>, value: Value<'a>) -> Option<()> {
    // One search of the table, not one to ask and one to insert.
    match table.entry(key) {
        toml::map::Entry::Vacant(vacant) => {
            vacant.insert(value);
            Some(())
        }
        toml::map::Entry::Occupied(_) => None,
    }
}

/// The tree being built. A table's span tells how it was made (see the module's comment): from
/// a header at its `[`, by a value at its `{`, opened by a longer header at its key.
struct Document<'a> {
    source: &'a [u8],
    root: DeTable<'a>,
    /// The table of the last header, filled by the lines after it, put in its place at the next
    /// header or the end (as the crate does): its header's keys and span, and the table.
    current: Option<(Header<'a>, DeTable<'a>)>,
}

impl<'a> Document<'a> {
    /// Starts the table of `header`; `None` where the crate would report the header.
    fn start_table(&mut self, header: Header<'a>) -> Option<()> {
        self.finish_table()?;
        let (keys, _) = &header;
        let (last, parents) = keys.split_last()?;
        let source = self.source;
        let parent = self.descend(parents)?;
        let table = match parent.remove(last.get_ref().as_ref()) {
            None => DeTable::new(),
            // Only a table a longer header opened may be defined by its own header.
            Some(opened) => match (source.get(opened.span().start), opened.into_inner()) {
                (Some(b'[' | b'{'), _) => return None,
                (_, DeValue::Table(t)) => t,
                _ => return None,
            },
        };
        self.current = Some((header, table));
        Some(())
    }

    /// Puts the current table, if any, in its place.
    fn finish_table(&mut self) -> Option<()> {
        let Some(((keys, span), table)) = self.current.take() else {
            return Some(());
        };
        let (last, parents) = keys.split_last()?;
        let parent = self.descend(parents)?;
        insert_new(
            parent,
            last.clone(),
            Spanned::new(span, DeValue::Table(table)),
        )
    }

    /// The table at `keys` below the root, opening the missing ones as the crate does (spanned
    /// by the key that opens them); `None` through anything but a table headers made.
    fn descend(&mut self, keys: &[Key<'a>]) -> Option<&mut DeTable<'a>> {
        let source = self.source;
        let mut table = &mut self.root;
        for key in keys {
            let value = table
                .entry(key.clone())
                .or_insert_with(|| Spanned::new(key.span(), DeValue::Table(DeTable::new())));
            if source.get(value.span().start) == Some(&b'{') {
                return None;
            }
            match value.get_mut() {
                DeValue::Table(t) => table = t,
                _ => return None,
            }
        }
        Some(table)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::fmt::Write as _;

    use super::*;

    /// A tree written out with every key's and value's span, to compare two parses whole.
    pub(in crate::load) fn spelled(root: &DeTable<'_>) -> String {
        fn value(out: &mut String, v: &Spanned<DeValue<'_>>) {
            let _ = write!(out, "@{:?}:", v.span());
            match v.get_ref() {
                DeValue::Table(t) => {
                    out.push('{');
                    table(out, t);
                    out.push('}');
                }
                DeValue::Array(items) => {
                    out.push('[');
                    for item in items.iter() {
                        value(out, item);
                        out.push(',');
                    }
                    out.push(']');
                }
                other => {
                    let _ = write!(out, "{other:?}");
                }
            }
        }
        fn table(out: &mut String, t: &DeTable<'_>) {
            for (k, v) in t.iter() {
                let _ = write!(out, "{:?}@{:?}=", k.get_ref(), k.span());
                value(out, v);
                out.push(';');
            }
        }
        let mut out = String::new();
        table(&mut out, root);
        out
    }

    /// The crate's parse of `source`, spelled, when it has no error.
    fn by_crate(source: &str) -> Option<String> {
        let (root, errors) = DeTable::parse_recoverable(source);
        errors.is_empty().then(|| spelled(root.get_ref()))
    }

    fn by_simple(source: &str) -> Option<String> {
        parse(source, 0..source.len()).map(|root| spelled(&root))
    }

    /// Files of the subset: the simple parser reads each, as the crate does.
    #[test]
    fn reads_the_subset_as_the_crate_does() {
        let cases = [
            "",
            "\n\n# a comment\n",
            "version = 1\n",
            "a = 0\nb = 8443\nc = true\nd = false\ne = 99999999999999999999\n",
            "a = \"\"\nb = \"x y#z\" # comment\n",
            "\"a.b\" = \"c\"\n\"\" = 1\n",
            "[cluster]\nname = \"prod\"\npod_cidrs = [\"10.0.0.0/8\", \"10.1.0.0/16\",]\n",
            "[platform]\ndns = { namespace = \"kube-system\", pod_labels = { \"k8s-app\" = \"kube-dns\" }, ports = [53] }\n",
            "a = {}\nb = { }\nc = []\nd = [ ]\ne = [[1, 2], [\"x\"], [], {}]\n",
            "a = [\n  \"x\", # the first\n  # between\n  \"y\",\n\n]\n",
            "[tenants.acme]\nnamespaces = [\"acme\"]\n\n[tenants.acme.expose.acme]\nports = [8443]\n",
            "[tenants.a.expose.x]\ny = 1\n[tenants.a]\nz = 1\n",
            "[ tenants . \"b c\" ]  # header\n\tk\t=\t\"v\"\t\n",
            "[tenants]\n[tenants.a]\n[shared.s]\nconsumers = \"*\"",
            "x = [true,false,1,\"s\",{a=1}]\n",
            // Comments right after values and headers, no blanks around `=`, odd keys.
            "a = true#c\nb = 1#c\nc = [1,2]#c\nd = {e=1}#c\nf = \"x\"#c\n[g]#c\n",
            "a=1\n\"b\"=1\n0 = 1\n- = 1\na-b_c = 1\ntrue = 1\n[\"\"]\n[h.\"b\".c]\n",
            "  [a]\n\t[b]\nc = [\n1\n,\n2\n]\nd = {e = [1,\n2]}\nf = [{g = 1}, {g = 1}]\n",
        ];
        for source in cases {
            let expected = by_crate(source);
            assert!(expected.is_some(), "the crate refuses {source:?}");
            assert_eq!(by_simple(source), expected, "{source:?}");
        }
    }

    /// Text outside the subset, or that the crate refuses: the simple parser returns `None`.
    #[test]
    fn leaves_the_rest_to_the_crate() {
        let cases = [
            // Outside the subset.
            "a = \"\\u0041\"\n",
            "a = 'x'\n",
            "a = \"\"\"x\"\"\"\n",
            "a = 1.5\n",
            "a = 1979-05-27\n",
            "a = +1\n",
            "a = 1_000\n",
            "a = 0x1f\n",
            "a.b = 1\n",
            "[[a]]\nb = 1\n",
            "a = 1\r\n",
            "a = \"\tx\"\n",
            "a = \"é\"\n",
            "# é\n",
            "a = { b = 1, }\n",
            "a = { b = 1,\n c = 2 }\n",
            "\u{feff}a = 1\n",
            // Refused by the crate.
            "a = 1\na = 2\n",
            "a = { b = 1, b = 2 }\n",
            "[a]\n[a]\n",
            "[a.b]\n[a]\n[a.b]\n",
            "[a.b]\n[a]\nb = 1\n",
            "a = 1\n[a.b]\n",
            "a = { b = 1 }\n[a.c]\n",
            "[a]\nb = { c = 1 }\n[a.b]\n",
            "[a]\nb = [1]\n[a.b.c]\n",
            "a = 01\n",
            "a = tru\n",
            "a = truex\n",
            "a = 1 b = 2\n",
            "[a] b = 1\n",
            "a = [1 2]\n",
            "a = [,]\n",
            "a = [1\n",
            "a = {\n",
            "a =\n",
            "= 1\n",
            "[]\n",
            "[a.]\n",
            "a = \"x\n",
            "a = 1,\n",
            "x = \"a\"\"b\"\n",
            // Deeper than this parser goes (the crate refuses 80 keys).
            &format!("[{}]\n", vec!["a"; 100].join(".")),
            &format!("a = {}1{}\n", "[".repeat(40), "]".repeat(40)),
        ];
        for source in cases {
            assert_eq!(by_simple(source), None, "{source:?}");
        }
    }

    /// A piece of a file: spans are the file's, as in the crate's parse of a copy blanked before it.
    #[test]
    fn spans_of_a_piece_are_the_files() {
        let source = "version = 1\n[tenants.a]\nx = [\"1\"]\n[tenants.b]\ny = { z = true }\n";
        let at = source.find("[tenants.a]").unwrap();
        let blanked = " ".repeat(at) + &source[at..];
        assert_eq!(
            parse(source, at..source.len()).map(|root| spelled(&root)),
            by_crate(&blanked)
        );
    }

    /// The example users start from, the other examples and the lines the benchmark's
    /// generator writes (`bench/gen.py`) are read by the simple parser, as the crate reads them.
    #[test]
    fn reads_the_examples_and_the_benchmarks_lines() {
        let files = [
            include_str!("../../tenants/tenants.toml"),
            include_str!("../../tenants/examples/clusters.toml"),
            include_str!("../../tenants/examples/ambient.toml"),
            include_str!("../../examples/starter-tenants.toml"),
            BENCH,
        ];
        for file in files {
            let expected = by_crate(file);
            assert!(expected.is_some());
            assert_eq!(by_simple(file), expected, "{file}");
        }
    }

    /// Lines of `python3 bench/gen.py 3 --access`, shortened.
    const BENCH: &str = r#"# Synthetic tenants.toml for the tenantc benchmark (bench/gen.py). Do not edit.
version = 1

[cluster]
name = "bench-1"
pod_cidrs = ["10.244.0.0/16"]

[platform]
dns = { namespace = "kube-system", service = "kube-dns", pod_labels = { "k8s-app" = "kube-dns" }, ports = [53], cidrs = ["169.254.20.10/32"] }
kube_api = { cidrs = ["172.18.0.2/32"], ports = [6443] }

[defaults]
pod_security = "baseline"
quota = { "requests.cpu" = "8", "requests.memory" = "32Gi", "limits.memory" = "64Gi", pods = "200" }
container_defaults = { request = { cpu = "100m", memory = "128Mi" }, limit = { memory = "512Mi" } }

[shared.shared-0]
consumers = ["t00000", "t00001", "shared-0"]
labels = { "example.com/tier" = "0" }
ports = [8443]

[external.db-t00000]
cidrs = ["198.18.0.0/32"]
ports = [5432]
protocol = "TCP"
consumers = ["t00000"]

[tenants.t00000]
namespaces = ["t00000", "t00000-jobs"]
labels = { "example.com/plan" = "gold", "example.com/cost-center" = "cc-0" }
annotations = { "example.com/owner" = "team-t00000@example.com" }
kube_api = true
owners = ["group:t00000-admins", "user:lead-t00000@example.com"]
editors = ["group:t00000-devs", "serviceaccount:ci/deploy-t00000"]
viewers = ["group:auditors"]
quota = { "requests.cpu" = "16" }
[tenants.t00000.expose.t00000]
consumers = "*"
ports = [8443]

[tenants.t00001]
labels = { "example.com/plan" = "silver", "example.com/cost-center" = "cc-1" }
ingress = true
pod_security = "restricted"
"#;

    proptest::proptest! {
        /// Files of lines in and around the subset: whatever the simple parser reads, the crate
        /// reads the same, without an error.
        #[test]
        fn what_it_reads_the_crate_reads_the_same(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "[a]", "[a.b]", "[b]", "[ a . \"b\" ]", "[[a]]", "[a.b.c]", "a = 1", "b = \"x\"",
                    "c = [1, \"y\",]", "c = [", "\"z\",", "]", "# c", "", "d = { e = { f = [] } }",
                    "b = true", "e = tru", "a.b = 1", "\"a\" = 2", "f = \"\"\"", "g = [ # c",
                    "h = {}", "[c]", "b = 0", "b = 00", "x = [[], [[]]]",
                ]),
                0..16,
            ),
        ) {
            let source = lines.join("\n") + "\n";
            if let Some(tree) = by_simple(&source) {
                proptest::prop_assert_eq!(Some(tree), by_crate(&source), "{:?}", source);
            }
        }
    }
}
