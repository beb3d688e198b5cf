//! tenants.toml's TOML parsed on every core: the file cut at `[tenants.…]` headers into one
//! piece per core, each piece parsed on a thread of its own, the pieces' tables merged.
//!
//! The parse was the longest serial step of a compile or `verify` of a large file (at 10,000
//! tenants with every access key, 40 of the 80 ms between reading the file and compiling it).
//! The result is the tree the whole file parses to, spans included, or the whole file is parsed
//! again as one piece, by the `toml` crate:
//! - Each piece is read by the parser of the usual TOML (`simple`), which gives the tree the
//!   crate gives that piece alone, with the file's spans, or nothing. A piece it leaves is parsed
//!   by the crate, from a copy of the file whose text before the piece is blanked with spaces
//!   (TOML's whitespace), so that its spans are the file's too.
//! - A cut is only made before a line that starts with `[tenants.`. Were that line inside a
//!   multi-line string, array or inline table, the piece before it would end inside it: a syntax
//!   error, and any error in any piece parses the whole file again (so that every error is found
//!   and reported as the whole file's parse reports it).
//! - Merging a later piece adds its top-level tables. A piece's top level only holds tables its
//!   headers made, as a header opens it. Where a table of the same name exists already, the
//!   whole file's parse would extend it (one made by headers, by `[name]` or by dotted keys) or
//!   refuse it (an inline table, or a value that is not a table); and a header in the later
//!   piece that defines the table itself (`[tenants]`) would be refused if the earlier pieces
//!   defined it too. Only the first case is merged: each entry of the later table is added
//!   when the earlier one has no entry of that name. Anything else (an inline table, an array
//!   of tables, `[name]` itself in a later piece, an entry in both) parses the whole file again.
//!   The tables are `BTreeMap`s (the `toml` crate without `preserve_order`): the order in which
//!   entries are added does not show.

use std::ops::Range;

use toml::de::{DeTable, DeValue, Error};

use super::simple;

/// A file smaller than this is parsed in one piece: a thread costs more than it saves.
const MIN_PIECE: usize = 128 * 1024;

/// What starts a line a piece may begin at.
const CUT: &str = "\n[tenants.";

/// `source` parsed, as [`DeTable::parse_recoverable`] parses it, on up to every core. `blanked`
/// holds the copies the later pieces are parsed from, which the tree borrows from.
pub(super) fn parse<'a>(
    source: &'a str,
    blanked: &'a mut Vec<String>,
) -> (DeTable<'a>, Vec<Error>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    parse_in(source, blanked, cores, MIN_PIECE)
}

/// [`parse`] in at most `pieces` pieces of at least `min_piece` bytes.
fn parse_in<'a>(
    source: &'a str,
    blanked: &'a mut Vec<String>,
    pieces: usize,
    min_piece: usize,
) -> (DeTable<'a>, Vec<Error>) {
    let crate_whole = || {
        let (root, errors) = DeTable::parse_recoverable(source);
        (root.into_inner(), errors)
    };
    let cuts = cuts(source, pieces.min(source.len() / min_piece.max(1)));
    if cuts.is_empty() {
        return match simple::parse(source, 0..source.len()) {
            Some(root) => (root, Vec::new()),
            None => crate_whole(),
        };
    }
    let ranges: Vec<Range<usize>> = std::iter::once(0..cuts[0].start).chain(cuts).collect();
    // Each piece through the simple parser, then the ones it left through the crate.
    let mut parsed: Vec<Option<DeTable<'a>>> =
        on_threads(&ranges, |range| simple::parse(source, range.clone()));
    if parsed.iter().any(Option::is_none) {
        let left: Vec<usize> = (0..ranges.len()).filter(|&i| parsed[i].is_none()).collect();
        *blanked = left
            .iter()
            .map(|&i| {
                let piece = &ranges[i];
                let mut text = " ".repeat(piece.start);
                text.push_str(&source[piece.clone()]);
                text
            })
            .collect();
        let blanked: &'a [String] = blanked;
        let by_crate = on_threads(blanked, |text| DeTable::parse_recoverable(text));
        for (i, (root, errors)) in left.into_iter().zip(by_crate) {
            if !errors.is_empty() {
                return crate_whole();
            }
            parsed[i] = Some(root.into_inner());
        }
    }
    let mut pieces = parsed.into_iter().flatten();
    let mut root = pieces.next().unwrap_or_default();
    for piece in pieces {
        if !merge(source.as_bytes(), &mut root, piece) {
            return crate_whole();
        }
    }
    (root, Vec::new())
}

/// `f` of each item, the first on this thread and each other on a thread of its own.
fn on_threads<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    let Some((first, rest)) = items.split_first() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|scope| {
        let later: Vec<_> = rest
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        let mut out = vec![f(first)];
        out.extend(
            later
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        );
        out
    })
}

/// Where the pieces after the first start and end: at most `pieces - 1` of them, each at a
/// line that starts with [`CUT`], near an equal share of the file.
fn cuts(source: &str, pieces: usize) -> Vec<Range<usize>> {
    let mut starts = Vec::new();
    for k in 1..pieces {
        let mut from = (source.len() * k / pieces).max(starts.last().map_or(0, |&s| s + 1));
        // A share may end inside a character of a non-ASCII file.
        while !source.is_char_boundary(from) {
            from += 1;
        }
        let Some(at) = source.get(from..).and_then(|rest| rest.find(CUT)) else {
            break;
        };
        starts.push(from + at + 1);
    }
    starts.dedup();
    let ends = starts.iter().skip(1).copied().chain([source.len()]);
    starts.iter().zip(ends).map(|(&s, e)| s..e).collect()
}

/// Adds a later piece's tables to `root`, the tree of the pieces before it; `false` when the
/// whole file's parse might read them otherwise (see the module's comment).
fn merge<'a>(source: &[u8], root: &mut DeTable<'a>, piece: DeTable<'a>) -> bool {
    for (key, value) in piece {
        let Some(existing) = root.get_mut(&key) else {
            root.insert(key, value);
            continue;
        };
        // An inline table's span starts at its `{`; a table a header defines, at the header's
        // `[` (one that a longer header only opens starts at its name instead).
        let inline = source.get(existing.span().start) == Some(&b'{');
        let defined_here = source.get(value.span().start) == Some(&b'[');
        let (DeValue::Table(earlier), DeValue::Table(later)) =
            (existing.get_mut(), value.into_inner())
        else {
            return false;
        };
        if inline || defined_here {
            return false;
        }
        for (key, value) in later {
            if earlier.contains_key(&key) {
                return false;
            }
            earlier.insert(key, value);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::simple::tests::spelled;
    use super::*;

    /// A parse as the tests compare it: the tree spelled out, and the errors with their spans.
    type Parsed = (String, Vec<(String, Option<Range<usize>>)>);

    /// The whole file's parse.
    fn whole(source: &str) -> Parsed {
        let (root, errors) = DeTable::parse_recoverable(source);
        (spelled(root.get_ref()), errors_of(&errors))
    }

    fn errors_of(errors: &[Error]) -> Vec<(String, Option<Range<usize>>)> {
        errors
            .iter()
            .map(|e| (e.message().to_owned(), e.span()))
            .collect()
    }

    /// The parse in up to `pieces` pieces.
    fn in_pieces(source: &str, pieces: usize) -> Parsed {
        let mut blanked = Vec::new();
        let (root, errors) = parse_in(source, &mut blanked, pieces, 1);
        (spelled(&root), errors_of(&errors))
    }

    const TENANTS: &str = "version = 1\n\n[defaults]\nquota = { pods = \"10\" }\n\n\
        [tenants.a]\nnamespaces = [\"a\", \"a-jobs\"]\n\n[tenants.b]\nlabels = { x = \"1\" }\n\n\
        [tenants.c.expose.c]\nconsumers = [\"a\"]\n\n[tenants.d]\nowners = [\"group:d\"]\n\n\
        [shared.s]\nconsumers = \"*\"\n";

    #[test]
    fn cuts_only_before_tenant_headers() {
        let cuts = cuts(TENANTS, 4);
        assert!(!cuts.is_empty());
        for cut in &cuts {
            assert!(TENANTS[cut.start..].starts_with("[tenants."), "{cut:?}");
        }
        assert_eq!(cuts.last().unwrap().end, TENANTS.len());
    }

    /// Shares that end inside a character still find the next cut.
    #[test]
    fn cuts_a_file_of_non_ascii_text() {
        let source: String = (0..40)
            .map(|i| format!("[tenants.t{i}]\nannotations = {{ a = \"é—ü{i}\" }}\n"))
            .collect();
        for pieces in 2..=7 {
            let cuts = cuts(&source, pieces);
            assert_eq!(cuts.len(), pieces - 1, "{pieces} pieces");
            for cut in &cuts {
                assert!(source[cut.start..].starts_with("[tenants."), "{cut:?}");
            }
            assert_eq!(in_pieces(&source, pieces), whole(&source));
        }
    }

    #[test]
    fn pieces_parse_as_the_whole_file() {
        let expected = whole(TENANTS);
        assert!(expected.1.is_empty());
        for pieces in 1..=6 {
            assert_eq!(in_pieces(TENANTS, pieces), expected, "{pieces} pieces");
        }
    }

    /// Files whose pieces would each parse, but whose whole parse differs from a naive merge
    /// (an error, or another tree), and files cut inside a value: each parses as the whole file.
    #[test]
    fn what_a_merge_cannot_judge_is_parsed_whole() {
        let cases = [
            // An inline table cannot be extended by a later header.
            "tenants = { a = { labels = {} } }\n[tenants.b]\nx = 1\n",
            // Nor a value that is not a table.
            "tenants = 1\n[tenants.b]\nx = 1\n",
            "tenants = [1]\n[tenants.b]\nx = 1\n",
            // A tenant's table in two pieces: extended, or defined twice.
            "[tenants.a.expose.x]\ny = 1\n[tenants.a]\nz = 1\n",
            "[tenants.a]\nz = 1\n[tenants.a]\nz = 2\n",
            "[tenants.a]\nz = 1\n[tenants.b]\n[tenants.a.expose]\nq = 1\n",
            // `[tenants]` defined after `[tenants.x]` opened it, or twice.
            "[tenants]\n[tenants.a]\nz = 1\n[tenants]\n",
            "[tenants.a]\nz = 1\n[tenants.b]\nw = 2\n[tenants]\nv = 3\n",
            // Dotted keys made the table: a header may extend it.
            "tenants.a.z = 1\n[tenants.b]\nw = 2\n",
            "tenants.a.z = 1\n[tenants.a]\nw = 2\n",
            // An array of tables named `tenants`.
            "[[tenants]]\nq = 1\n[tenants.b]\nw = 2\n",
            // A cut inside a multi-line string, array or inline table.
            "[tenants.a]\nz = \"\"\"\n[tenants.b]\n\"\"\"\n",
            "[tenants.a]\nz = '''\n[tenants.b]\n'''\n",
            "[tenants.a]\nz = [\n[tenants.b]\n]\n",
            "[tenants.a]\nz = [\n\"x\",\n[tenants.b],\n]\n",
            "[tenants.a]\nz = {\n[tenants.b]\n}\n",
            // Other tables after the tenants, new or already opened.
            "[shared.s]\nx = 1\n[tenants.a]\nz = 1\n[shared.t]\ny = 2\n",
            "[shared.s]\nx = 1\n[tenants.a]\nz = 1\n[shared.s]\ny = 2\n",
            "[shared]\nx = 1\n[tenants.a]\nz = 1\n[shared]\ny = 2\n",
            "shared = { s = 1 }\n[tenants.a]\nz = 1\n[shared.t]\ny = 2\n",
            // An error in a piece, and in the first.
            "[tenants.a]\nz = 1\n[tenants.b]\nz = \n",
            "[tenants.a]\nz = \n[tenants.b]\nz = 1\n",
            // Line ends of Windows, a byte-order mark.
            "\u{feff}version = 1\r\n[tenants.a]\r\nz = 1\r\n[tenants.b]\r\nz = 2\r\n",
        ];
        for source in cases {
            let expected = whole(source);
            for pieces in 2..=4 {
                assert_eq!(
                    in_pieces(source, pieces),
                    expected,
                    "{pieces} pieces of {source:?}"
                );
            }
        }
    }

    proptest::proptest! {
        /// Any file made of tables and values that `[tenants.…]` lines may fall in, cut in any
        /// number of pieces, parses as the whole file: the same tree with the same spans, or
        /// the same errors.
        #[test]
        fn any_cut_parses_as_the_whole_file(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "[tenants.a]", "[tenants.b]", "[tenants.a.expose.x]", "[tenants]",
                    "[[tenants]]", "[shared.s]", "[shared]", "tenants = { c = 1 }",
                    "tenants.d.e = 1", "z = 1", "y = \"\"\"", "\"\"\"", "w = [", "]", "v = {",
                    "}", "u = 'x'", "# [tenants.c]", "", "t = \"\\u0041\"",
                ]),
                0..24,
            ),
            pieces in 2usize..6,
        ) {
            let source = lines.join("\n") + "\n";
            proptest::prop_assert_eq!(in_pieces(&source, pieces), whole(&source));
        }
    }
}
