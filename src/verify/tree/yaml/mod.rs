//! A fast reader for the plain subset of YAML that Kubernetes manifests are usually written in:
//! block mappings and sequences, plain and single-line quoted scalars, `{}`/`[]`, comments and
//! `---`. A large tree has tens of thousands of such files and a full YAML parser spends most of
//! verify's time on them. Anything outside the subset (anchors, tags, block scalars, flow
//! collections with content, multi-line scalars, tabs) returns `None`, and the caller parses the
//! file with `serde_norway` instead, so the result is always what a full parser gives.

use std::borrow::Cow;

use serde::de::value::{Error as DeError, MapDeserializer, SeqDeserializer};
use serde::de::{IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// A parsed YAML value that borrows its strings from the text; it is a serde `Deserializer`, so
/// documents deserialize straight into their structs without an owned intermediate tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(Cow<'a, str>),
    Seq(Vec<Value<'a>>),
    Map(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl Value<'_> {
    /// The value as JSON, as `serde_json::Value::deserialize` makes it (a later key of a mapping
    /// written twice wins), without serde's visitors: verify converts every GitOps object.
    pub fn into_json(self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => b.into(),
            Value::Int(i) => i.into(),
            Value::Str(s) => s.into_owned().into(),
            Value::Seq(items) => items.into_iter().map(Value::into_json).collect(),
            // Inserted one by one: most maps of a GitOps object are small (`group` and `kind`
            // of a whitelist's entry), and a map collected from an iterator is first gathered
            // into a vector and sorted, then built, which cost more than the inserts. The
            // reader refuses a key written twice, so the order of inserts does not matter.
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.into_owned(), v.into_json());
                }
                serde_json::Value::Object(map)
            }
        }
    }

    /// The string at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&str> {
        let Value::Map(entries) = self else {
            return None;
        };
        string_at(entries, key)
    }
}

/// The string at `key` of a mapping's entries.
pub fn string_at<'v>(entries: &'v [(Cow<'_, str>, Value<'_>)], key: &str) -> Option<&'v str> {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| match v {
            Value::Str(s) => Some(s.as_ref()),
            _ => None,
        })
}

impl<'de> IntoDeserializer<'de, DeError> for Value<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> serde::Deserializer<'de> for Value<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(b),
            Value::Int(i) => v.visit_i64(i),
            Value::Str(Cow::Borrowed(s)) => v.visit_borrowed_str(s),
            Value::Str(Cow::Owned(s)) => v.visit_string(s),
            Value::Seq(items) => v.visit_seq(SeqDeserializer::new(items.into_iter())),
            Value::Map(entries) => v.visit_map(MapDeserializer::new(
                entries.into_iter().map(|(k, n)| (Value::Str(k), n)),
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => v.visit_none(),
            other => v.visit_some(other),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// The documents of `text`, or `None` when the text leaves the subset.
pub fn parse(text: &str) -> Option<Vec<Value<'_>>> {
    Some(
        parse_with(text, &mut |_, _| false)?
            .into_iter()
            .map(|d| d.value)
            .collect(),
    )
}

/// A document of [`parse_with`], with the text of its top-level `spec` block.
pub struct Doc<'a> {
    /// The document; `spec` is null in it when the caller chose to skip it.
    pub value: Value<'a>,
    pub spec: Option<Spec<'a>>,
}

/// The top-level `spec` block of a document: its lines as written, from the start of the first
/// (indentation included) to the end of the last one's content. The block's value is a function
/// of this text alone (each line is read on its own, and the block ends where a line is
/// indented no more than the document), so equal texts are equal values.
#[derive(Clone, Copy)]
pub struct Spec<'a> {
    pub text: &'a str,
    /// Whether the caller skipped it, so that the document's `spec` is null.
    pub skipped: bool,
}

/// What decides whether a document's `spec` block is parsed: it gets the document's entries
/// before `spec` and the block's text, and returns `true` to skip it (a caller that already
/// has what the block's value gives it).
pub type SkipSpec<'a, 'f> = dyn FnMut(&[(Cow<'a, str>, Value<'a>)], &'a str) -> bool + 'f;

/// [`parse`], asking `skip` about the `spec` block of every document at indentation 0.
pub fn parse_with<'a>(text: &'a str, skip: &mut SkipSpec<'a, '_>) -> Option<Vec<Doc<'a>>> {
    let mut docs = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    // A line without `#`, a quote or a tab has no comment to strip: one search of the file for
    // those bytes spares most lines `strip_comment`'s search.
    let bytes = text.as_bytes();
    let tabs = memchr::memchr(b'\t', bytes).is_some();
    let mut special = memchr::memchr3_iter(b'#', b'"', b'\'', bytes).peekable();
    for (at, raw) in lines_of(text) {
        while special.next_if(|&p| p < at).is_some() {}
        let plain = !tabs && special.peek().is_none_or(|&p| p >= at + raw.len());
        let trimmed_end = if plain { raw } else { strip_comment(raw)? }.trim_end();
        if trimmed_end.starts_with("---") && (trimmed_end.len() == 3) {
            docs.push(document(&mut lines, text, skip)?);
            lines.clear();
            continue;
        }
        if trimmed_end.starts_with("...") || trimmed_end.starts_with('%') {
            return None;
        }
        let content = trimmed_end.trim_start_matches(' ');
        if content.is_empty() {
            continue;
        }
        if content.starts_with('\t') {
            return None;
        }
        lines.push(Line {
            indent: trimmed_end.len() - content.len(),
            text: content,
        });
    }
    docs.push(document(&mut lines, text, skip)?);
    // serde_norway yields no document for an empty stream or an empty trailing part.
    Some(docs.into_iter().flatten().collect())
}

/// The lines of `text` as `str::lines` gives them (`\n` or `\r\n` ends a line; a last line may
/// have no end), each with its offset in `text`, found with `memchr`: `lines` looks for a `char`,
/// a search and a comparison per line, which was a tenth of verify's parse at 10,000 tenants, and
/// a byte-by-byte search was still a fifth of the reader's own time.
fn lines_of(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = &text[at..];
        if rest.is_empty() {
            return None;
        }
        let start = at;
        // A `\r` ends a line only before a `\n`, as in `str::lines`.
        let line = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => {
                at += i + 1;
                rest[..i].strip_suffix('\r').unwrap_or(&rest[..i])
            }
            None => {
                at = text.len();
                rest
            }
        };
        Some((start, line))
    })
}

fn document<'a>(
    lines: &mut [Line<'a>],
    text: &'a str,
    skip: &mut SkipSpec<'a, '_>,
) -> Option<Option<Doc<'a>>> {
    if lines.is_empty() {
        return Some(None);
    }
    let mut i = 0;
    let indent = lines[0].indent;
    let mut root = Root {
        text,
        skip,
        spec: None,
    };
    let value = if indent == 0 && !is_item(lines[0].text) && split_key(lines[0].text).is_some() {
        mapping(lines, &mut i, indent, Some(&mut root))?
    } else {
        block(lines, &mut i, indent)?
    };
    (i == lines.len()).then_some(Some(Doc {
        value,
        spec: root.spec,
    }))
}

/// What the mapping at a document's root needs for its `spec` block.
struct Root<'a, 'r, 'f> {
    /// The whole text, which every line is a slice of.
    text: &'a str,
    skip: &'r mut SkipSpec<'a, 'f>,
    spec: Option<Spec<'a>>,
}

impl<'a> Root<'a, '_, '_> {
    /// The text of the block of lines `from..to`.
    fn span(&self, lines: &[Line<'a>], from: usize, to: usize) -> &'a str {
        let base = self.text.as_ptr() as usize;
        let first = &lines[from];
        let last = &lines[to - 1];
        let start = first.text.as_ptr() as usize - base - first.indent;
        let end = last.text.as_ptr() as usize - base + last.text.len();
        &self.text[start..end]
    }
}

/// Removes a comment: `#` at the start or after a space, outside quotes. `None` for a line outside
/// the subset: a quote that does not close on it, or a tab outside quotes. It jumps from one `#`
/// or quote to the next, and from a quote to its end, with `memchr` rather than looking at every
/// byte: the quoted lines of GitOps objects (an AppProject's policies, descriptions, URLs) are
/// long, and a byte loop was most of their reading.
fn strip_comment(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    // No tab in `from..to`, which is outside quotes.
    let no_tab = |from: usize, to: usize| memchr::memchr(b'\t', &bytes[from..to]).is_none();
    let mut i = 0;
    while let Some(found) = memchr::memchr3(b'#', b'"', b'\'', &bytes[i..]) {
        let p = i + found;
        if !no_tab(i, p) {
            return None;
        }
        let after = p == 0 || matches!(bytes[p - 1], b' ' | b'[' | b'{' | b'-' | b':');
        i = match bytes[p] {
            b'#' if p == 0 || bytes[p - 1] == b' ' => return Some(&line[..p]),
            b'"' if after => double_quote_end(bytes, p + 1)?,
            b'\'' if after => single_quote_end(bytes, p + 1)?,
            _ => p + 1,
        };
    }
    no_tab(i, bytes.len()).then_some(line)
}

/// Just past the `"` that closes a double-quoted scalar whose content starts at `from`; `None`
/// when it does not close on this line. A backslash escapes the byte after it.
fn double_quote_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let q = from + memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        if bytes[q] == b'"' {
            return Some(q + 1);
        }
        from = q + 2;
    }
}

/// Just past the `'` that closes a single-quoted scalar whose content starts at `from`; `None`
/// when it does not close on this line. `''` is an escaped quote.
fn single_quote_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let q = from + memchr::memchr(b'\'', bytes.get(from..)?)?;
        if bytes.get(q + 1) != Some(&b'\'') {
            return Some(q + 1);
        }
        from = q + 2;
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

fn block<'a>(lines: &mut [Line<'a>], i: &mut usize, indent: usize) -> Option<Value<'a>> {
    if is_item(lines[*i].text) {
        sequence(lines, i, indent)
    } else if split_key(lines[*i].text).is_some() {
        mapping(lines, i, indent, None)
    } else {
        // A lone scalar document or value spanning a line of its own.
        let v = scalar(lines[*i].text)?;
        *i += 1;
        Some(v)
    }
}

fn sequence<'a>(lines: &mut [Line<'a>], i: &mut usize, indent: usize) -> Option<Value<'a>> {
    let mut items = Vec::new();
    while *i < lines.len() && lines[*i].indent == indent && is_item(lines[*i].text) {
        let rest = lines[*i].text[1..].trim_start_matches(' ');
        if rest.is_empty() {
            *i += 1;
            if *i < lines.len() && lines[*i].indent > indent {
                let inner = lines[*i].indent;
                items.push(block(lines, i, inner)?);
            } else {
                items.push(Value::Null);
            }
            continue;
        }
        if is_item(rest) {
            return None;
        }
        if split_key(rest).is_some() {
            // `- key: value`: a mapping whose keys are aligned after the dash.
            let inner = indent + (lines[*i].text.len() - rest.len());
            lines[*i].indent = inner;
            lines[*i].text = rest;
            items.push(mapping(lines, i, inner, None)?);
        } else {
            items.push(scalar(rest)?);
            *i += 1;
        }
    }
    if *i < lines.len() && lines[*i].indent > indent {
        return None;
    }
    Some(Value::Seq(items))
}

/// A block mapping; `root` when it is a document's, whose `spec` block may be skipped.
fn mapping<'a>(
    lines: &mut [Line<'a>],
    i: &mut usize,
    indent: usize,
    mut root: Option<&mut Root<'a, '_, '_>>,
) -> Option<Value<'a>> {
    let mut map: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
    while *i < lines.len() && lines[*i].indent == indent && !is_item(lines[*i].text) {
        let (key, rest) = split_key(lines[*i].text)?;
        let key = match scalar(key)? {
            Value::Str(s) => s,
            Value::Int(n) => Cow::Owned(n.to_string()),
            Value::Bool(b) => Cow::Owned(b.to_string()),
            _ => return None,
        };
        *i += 1;
        let value = if !rest.is_empty() {
            scalar(rest)?
        } else if let Some(root) = root
            .as_deref_mut()
            .filter(|_| key == "spec" && *i < lines.len() && lines[*i].indent > indent)
        {
            let end = (*i..lines.len())
                .find(|&j| lines[j].indent <= indent)
                .unwrap_or(lines.len());
            let text = root.span(lines, *i, end);
            let skipped = (root.skip)(&map, text);
            root.spec = Some(Spec { text, skipped });
            if skipped {
                *i = end;
                Value::Null
            } else {
                let inner = lines[*i].indent;
                block(lines, i, inner)?
            }
        } else if *i < lines.len() && lines[*i].indent > indent {
            let inner = lines[*i].indent;
            block(lines, i, inner)?
        } else if *i < lines.len() && lines[*i].indent == indent && is_item(lines[*i].text) {
            sequence(lines, i, indent)?
        } else {
            Value::Null
        };
        if map.iter().any(|(k, _)| *k == key) {
            return None;
        }
        map.push((key, value));
    }
    if *i < lines.len() && lines[*i].indent > indent {
        return None;
    }
    Some(Value::Map(map))
}

/// `key: rest` or `key:` at the start of a line; keys may be quoted.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let end = if text.starts_with('"') || text.starts_with('\'') {
        let q = text.as_bytes()[0];
        let close = text[1..].bytes().position(|c| c == q)? + 1;
        close + 1
    } else {
        let pos = memchr::memchr(b':', text.as_bytes())?;
        // Bytes, not chars: each of these is ASCII, which no byte of a longer UTF-8 char is.
        if text.as_bytes()[..pos]
            .iter()
            .any(|b| matches!(b, b'{' | b'[' | b'"' | b'\'' | b'#'))
        {
            return None;
        }
        pos
    };
    let after = &text[end..];
    let rest = after.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        // `a:b` is a plain scalar, not a key; a quoted key must be followed by `: `.
        return None;
    }
    Some((&text[..end], rest.trim_start_matches(' ')))
}

fn scalar(text: &str) -> Option<Value<'_>> {
    let first = text.chars().next()?;
    match first {
        '"' => double_quoted(text).map(Value::Str),
        '\'' => {
            let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
            if !inner.contains('\'') {
                return Some(Value::Str(Cow::Borrowed(inner)));
            }
            if inner.replace("''", "").contains('\'') {
                return None;
            }
            Some(Value::Str(Cow::Owned(inner.replace("''", "'"))))
        }
        '{' if text == "{}" => Some(Value::Map(Vec::new())),
        '[' if text == "[]" => Some(Value::Seq(Vec::new())),
        '{' | '[' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' | '?' | ',' | ']' | '}' => None,
        '-' if text == "-" || text.starts_with("- ") => None,
        _ => plain(text),
    }
}

fn plain(text: &str) -> Option<Value<'_>> {
    // One pass over the bytes for `: ` and ` #` (each of `str::contains` was a search of its own,
    // the largest share of verify's parse at 10,000 tenants), and a trailing `:`.
    let bytes = text.as_bytes();
    if bytes.last() == Some(&b':')
        || bytes
            .windows(2)
            .any(|w| (w[0] == b':' && w[1] == b' ') || (w[0] == b' ' && w[1] == b'#'))
    {
        return None;
    }
    match text {
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let first = digits.as_bytes().first().copied().unwrap_or(b'x');
    if first.is_ascii_digit() || first == b'.' {
        // Decimal integers are common (ports); every other number form goes to the full parser.
        let leading_zero = digits.len() > 1 && first == b'0';
        if digits.bytes().all(|c| c.is_ascii_digit()) && !text.starts_with('+') && !leading_zero {
            return text.parse().ok().map(Value::Int);
        }
        // A digit then a letter no number form of YAML 1.1 or 1.2 has (`10m`, Flux's intervals;
        // `8Gi`): a string. The forms with letters are a base prefix (`0x`, `0o`, `0b`, whose
        // digits may be letters), an exponent (`e`), `.inf` and `.nan` (which start with `.`):
        // those still go to the full parser.
        let prefixed = digits.len() > 1
            && first == b'0'
            && matches!(
                digits.as_bytes()[1],
                b'x' | b'X' | b'o' | b'O' | b'b' | b'B'
            );
        if first != b'.'
            && !prefixed
            && digits
                .bytes()
                .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'))
        {
            return Some(Value::Str(Cow::Borrowed(text)));
        }
        return None;
    }
    // `.inf`, `-.inf`, `+.inf` and `.nan` in any case start with `.` after the sign: refused above.
    Some(Value::Str(Cow::Borrowed(text)))
}

fn double_quoted(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if memchr::memchr2(b'\\', b'"', inner.as_bytes()).is_none() {
        return Some(Cow::Borrowed(inner));
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests;
