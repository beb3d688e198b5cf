//! Text that crosses a trust boundary: tenants.toml strings that end up in reviewed YAML files,
//! and names that end up on a terminal or in a CI log.
//!
//! Two rules, one per direction:
//! - [`forbidden`]: characters refused in tenants.toml. Control characters (including line
//!   breaks and tabs) have no place in a name, label or annotation that a reviewer reads, and the
//!   Unicode bidirectional overrides and invisible characters make a reviewed file read
//!   differently from what it does ("Trojan Source", CVE-2021-42574).
//! - [`printable`]: how any untrusted text is shown in a diagnostic or a comment: those
//!   characters escaped (so that no line, YAML key or GitHub `::` workflow command can start
//!   inside it), and cut to a bounded length (a 1 MB value makes a short error, not a long one).

use std::fmt::Write as _;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::Diagnostic;

/// How many characters of an untrusted value a diagnostic echoes.
pub const ECHO_CHARS: usize = 120;

/// Why `c` may not appear in a tenants.toml string, or `None` when it may.
pub fn forbidden(c: char) -> Option<&'static str> {
    Some(match c {
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => "a line break",
        '\t' => "a tab",
        c if c.is_control() => "a control character",
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' => {
            "a bidirectional-text control (it can make the file read differently from what it does)"
        }
        '\u{200b}'..='\u{200f}'
        | '\u{2060}'..='\u{2064}'
        | '\u{feff}'
        | '\u{00ad}'
        | '\u{180e}' => "an invisible character (it can make two different names look the same)",
        _ => return None,
    })
}

/// `s` for a terminal, a CI log or a YAML comment: every [`forbidden`] character written as
/// `\u{…}`, and at most `max` characters of it, the rest summarised.
pub fn printable(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 2));
    for (n, (i, c)) in s.char_indices().enumerate() {
        if n == max {
            let _ = write!(out, "… ({} more bytes)", s.len() - i);
            break;
        }
        if forbidden(c).is_some() {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Eight bytes at once: `0x01` in every byte, times a byte value.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether a byte of the eight in `w` is outside printable ASCII (`0x20..=0x7e`): one below
/// `0x20` borrows into its high bit when `0x20` is taken from it, one above `0x7e` reaches
/// `0x80` when `1` is added (or has the high bit already). Exact for the word as a whole: a
/// borrow or carry only flags a byte beside one flagged already.
fn has_unprintable(w: u64) -> bool {
    let below = w.wrapping_sub(ONES * 0x20) & !w;
    let above = w.wrapping_add(ONES) | w;
    (below | above) & HIGHS != 0
}

/// The words of `bytes`, eight bytes each, and the bytes after the last whole word.
fn words(bytes: &[u8]) -> (impl Iterator<Item = (&[u8], u64)>, &[u8]) {
    let chunks = bytes.chunks_exact(8);
    let rest = chunks.remainder();
    let words = chunks.map(|c| (c, u64::from_le_bytes(c.try_into().expect("eight bytes"))));
    (words, rest)
}

/// Whether every byte of `bytes` is printable ASCII (`0x20..=0x7e`), eight at a time: the
/// loaders read a 3 MB tenants.toml a byte at a time otherwise.
pub fn is_printable_ascii(bytes: &[u8]) -> bool {
    let (mut words, rest) = words(bytes);
    words.all(|(_, w)| !has_unprintable(w)) && rest.iter().all(|b| (0x20..0x7f).contains(b))
}

/// Whether every byte of `text` is printable ASCII, a line end or a tab: a file of such bytes
/// holds no [`forbidden`] character but its line ends and tabs. Eight bytes at a time; a word
/// with a line end (one in five, in a tenants.toml) is looked at byte by byte.
fn is_plain_text(text: &[u8]) -> bool {
    let allowed = |b: &u8| (0x20..0x7f).contains(b) | matches!(b, b'\n' | b'\r' | b'\t');
    let (mut words, rest) = words(text);
    words.all(|(bytes, w)| !has_unprintable(w) || bytes.iter().all(allowed))
        && rest.iter().all(allowed)
}

/// Every forbidden character of `source` (a tenants.toml whose TOML parsed as `root`), each
/// once: those written as such (bidi and invisible characters may stand anywhere, comments
/// included) at their exact position, and those written as TOML escapes (`"\u202e"`, `"\n"`) at
/// the string that holds them.
pub fn check_config(source: &str, root: &DeTable<'_>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Printable ASCII (most files) holds no forbidden character: one scan, eight bytes at a
    // time, instead of decoding every character of a 17 MB file.
    let plain = |text: &str| is_plain_text(text.as_bytes());
    let source_is_plain = plain(source);
    let chars = (!source_is_plain)
        .then(|| source.char_indices())
        .into_iter()
        .flatten();
    for (i, c) in chars {
        // A byte-order mark that opens the file is how some editors save UTF-8; it is not text.
        if i == 0 && c == '\u{feff}' {
            continue;
        }
        // Raw control characters other than line ends and tabs are TOML syntax errors already.
        if let (Some(why), false) = (forbidden(c), matches!(c, '\n' | '\r' | '\t')) {
            diags.push(
                Diagnostic::new(
                    format!("tenants.toml contains U+{:04X}, {why}", c as u32),
                    i..i + c.len_utf8(),
                )
                .with_label("here")
                .with_help("delete it; an editor that shows invisible characters helps"),
            );
        }
    }
    // Printable ASCII without tabs, backslashes or multi-line strings: every key and string is
    // the text between its quotes on one line, printable already.
    let bytes = source.as_bytes();
    if source_is_plain
        && memchr::memchr2(b'\t', b'\\', bytes).is_none()
        && memchr::memmem::find(bytes, b"\"\"\"").is_none()
        && memchr::memmem::find(bytes, b"'''").is_none()
    {
        return diags;
    }
    let raw: Vec<usize> = diags.iter().map(|d| d.span.start).collect();
    table_strings(root, &mut |text, span| {
        if plain(text) && !text.contains(['\n', '\r', '\t']) {
            return;
        }
        if raw.iter().any(|&r| span.contains(&r)) {
            return;
        }
        if let Some((c, why)) = text.chars().find_map(|c| forbidden(c).map(|w| (c, w))) {
            diags.push(
                Diagnostic::new(
                    format!(
                        "`{}` contains U+{:04X}, {why}",
                        printable(text, 40),
                        c as u32
                    ),
                    span,
                )
                .with_help(
                    "tenantc writes this text into files that people review and apply: \
                     use printable characters only",
                ),
            );
        }
    });
    diags
}

/// What [`table_strings`] calls with each key and string value, and its span.
type Visit<'v> = dyn FnMut(&str, std::ops::Range<usize>) + 'v;

/// Every key and string value of `table`, with its span, handed to `out`.
fn table_strings(table: &DeTable<'_>, out: &mut Visit<'_>) {
    for (k, v) in table.iter() {
        out(k.get_ref(), k.span());
        value_strings(v, out);
    }
}

fn value_strings(v: &Spanned<DeValue<'_>>, out: &mut Visit<'_>) {
    match v.get_ref() {
        DeValue::String(s) => out(s, v.span()),
        DeValue::Array(items) => items.iter().for_each(|i| value_strings(i, out)),
        DeValue::Table(t) => table_strings(t, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The byte at every place of every word, at each edge of the ranges (`0x1f`/`0x20`,
    /// `0x7e`/`0x7f`, `0x80`, `0xff`) and beside bytes that borrow or carry: the word tests
    /// answer as the byte loops they replace.
    #[test]
    fn the_word_tests_answer_as_a_byte_loop() {
        let edges = [
            0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x21, 0x41, 0x7e, 0x7f, 0x80, 0xfe, 0xff,
        ];
        for len in [7, 8, 9, 16, 17] {
            for place in 0..len {
                for &edge in &edges {
                    for &beside in &[0x20u8, 0x00, 0xff, 0x7f] {
                        let mut bytes = vec![b'a'; len];
                        bytes[place] = edge;
                        if place + 1 < len {
                            bytes[place + 1] = beside;
                        }
                        check_words(&bytes);
                    }
                }
            }
        }
    }

    fn check_words(bytes: &[u8]) {
        let printable = bytes.iter().all(|b| (0x20..0x7f).contains(b));
        assert_eq!(is_printable_ascii(bytes), printable, "{bytes:?}");
        let plain = bytes
            .iter()
            .all(|b| (0x20..0x7f).contains(b) || matches!(b, b'\n' | b'\r' | b'\t'));
        assert_eq!(is_plain_text(bytes), plain, "{bytes:?}");
    }

    proptest! {
        #[test]
        fn the_word_tests_answer_as_a_byte_loop_on_any_bytes(
            bytes in proptest::collection::vec(
                prop_oneof![0x20u8..0x7f, any::<u8>(), Just(b'\n')],
                0..40,
            ),
        ) {
            check_words(&bytes);
        }
    }

    #[test]
    fn printable_escapes_and_cuts() {
        assert_eq!(printable("a\nb", 10), "a\\u{000a}b");
        assert_eq!(printable("x\u{202e}y", 10), "x\\u{202e}y");
        assert_eq!(printable("abcdef", 3), "abc… (3 more bytes)");
        assert_eq!(printable("é acme", 10), "é acme");
    }

    #[test]
    fn finds_raw_and_escaped_characters() {
        let src = "a = \"x\\u202Ey\"\n# \u{202e} comment\nb = \"ok\"\nc = \"t\\tz\"\n";
        let (root, errors) = DeTable::parse_recoverable(src);
        assert!(errors.is_empty());
        let diags = check_config(src, root.get_ref());
        let at: Vec<&str> = diags.iter().map(|d| &src[d.span.clone()]).collect();
        assert_eq!(at, ["\u{202e}", "\"x\\u202Ey\"", "\"t\\tz\""], "{diags:?}");
    }

    /// Line breaks and tabs written as such in a string: the file is printable ASCII without a
    /// backslash, and the strings are still read.
    #[test]
    fn finds_raw_line_breaks_and_tabs_in_strings() {
        for (src, at) in [
            ("a = '''x\ny'''\n", "'''x\ny'''"),
            ("a = \"\"\"x\r\ny\"\"\"\n", "\"\"\"x\r\ny\"\"\""),
            ("a = 'x\ty'\n", "'x\ty'"),
            ("a = \"x\ty\"\n", "\"x\ty\""),
            ("'k\tk' = 1\n", "'k\tk'"),
        ] {
            let (root, errors) = DeTable::parse_recoverable(src);
            assert!(errors.is_empty(), "{src:?}: {errors:?}");
            let found: Vec<&str> = check_config(src, root.get_ref())
                .iter()
                .map(|d| &src[d.span.clone()])
                .collect();
            assert_eq!(found, [at], "{src:?}");
        }
    }

    proptest::proptest! {
        /// The ASCII fast paths find what a scan of every character finds: a forbidden character
        /// written raw (outside the BOM and line ends) or escaped in a key or string.
        #[test]
        fn fast_paths_find_every_forbidden_character(
            value in "[a\\- \t\u{7f}\u{85}\u{202e}\u{200b}é]{0,8}",
            comment in "[a \u{202e}\u{0}]{0,4}",
        ) {
            let src = format!("a = {}\n# {comment}\nb = 'x'\n", toml_string(&value));
            let (root, _) = DeTable::parse_recoverable(&src);
            let found: Vec<String> = check_config(&src, root.get_ref())
                .iter()
                .map(|d| src[d.span.clone()].to_owned())
                .collect();
            let raw = src
                .char_indices()
                .filter(|(_, c)| forbidden(*c).is_some() && !matches!(c, '\n' | '\r' | '\t'));
            let mut want: Vec<String> = raw.map(|(i, c)| src[i..i + c.len_utf8()].to_owned()).collect();
            // The value is written escaped: it is found at its string, not raw.
            if value.chars().any(|c| forbidden(c).is_some()) {
                want.push(toml_string(&value));
            }
            proptest::prop_assert_eq!(found, want, "{:?}", src);
        }
    }

    /// `value` as a TOML basic string, every character that is not printable ASCII escaped.
    fn toml_string(value: &str) -> String {
        let mut out = String::from("\"");
        for c in value.chars() {
            match c {
                ' '..='~' if c != '"' && c != '\\' => out.push(c),
                c => out.push_str(&format!("\\u{:04X}", c as u32)),
            }
        }
        out.push('"');
        out
    }
}
