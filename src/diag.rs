//! Diagnostics in the rustc/cargo format: `error: ...`, `--> file:line:col`, the source line with a
//! caret under the span, and a `help:` line where the fix is obvious.

use std::fmt::Write as _;
use std::ops::Range;

use annotate_snippets::{Level, Renderer, Snippet};

use crate::text::printable;

/// Messages, labels and help echo user input; past this many characters they are cut.
const MESSAGE_CHARS: usize = 400;
/// A source line longer than this is shown as a window around the error.
const LINE_BYTES: usize = 240;

/// One problem found in a source file, located by a byte span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Range<usize>,
    /// Short text printed under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Other places that take part, each with what it does there (a cluster's key that makes a
    /// top-level one invalid): shown as notes under the error.
    pub notes: Vec<(Range<usize>, String)>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        Self {
            message: message.into(),
            span,
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn with_note(mut self, span: Range<usize>, note: impl Into<String>) -> Self {
        self.notes.push((span, note.into()));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
}

/// A source file and the diagnostics found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceErrors {
    pub path: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl SourceErrors {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.source, offset)
    }

    /// Renders every diagnostic, sorted by position, rustc style.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        let shown = shown_source(&self.source);
        let path = printable(&self.path, MESSAGE_CHARS);
        for d in &self.diagnostics {
            let span = clamp_span(&self.source, d.span.clone());
            let (source, line_start, span) = window(&shown, span);
            let label = d.label.as_deref().map(|l| printable(l, MESSAGE_CHARS));
            let mut annotation = Level::Error.span(span);
            if let Some(label) = &label {
                annotation = annotation.label(label);
            }
            let snippet = Snippet::source(source)
                .origin(&path)
                .line_start(line_start)
                .fold(true)
                .annotation(annotation);
            let title = printable(&d.message, MESSAGE_CHARS);
            let help = d.help.as_deref().map(|h| printable(h, MESSAGE_CHARS));
            let mut message = Level::Error.title(&title).snippet(snippet);
            let notes: Vec<(&str, usize, Range<usize>, String)> = d
                .notes
                .iter()
                .map(|(span, note)| {
                    let (source, line_start, span) =
                        window(&shown, clamp_span(&self.source, span.clone()));
                    (source, line_start, span, printable(note, MESSAGE_CHARS))
                })
                .collect();
            for (source, line_start, span, note) in &notes {
                message = message.snippet(
                    Snippet::source(source)
                        .origin(&path)
                        .line_start(*line_start)
                        .fold(true)
                        .annotation(Level::Note.span(span.clone()).label(note)),
                );
            }
            if let Some(help) = &help {
                message = message.footer(Level::Help.title(help));
            }
            let _ = writeln!(out, "{}\n", renderer.render(message));
        }
        out
    }

    /// GitHub Actions workflow commands, one per diagnostic, so errors show on the PR's lines.
    pub fn render_github(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            let (line, col) = self.line_col(d.span.start);
            let mut text = printable(&d.message, MESSAGE_CHARS);
            if let Some(help) = &d.help {
                text.push_str(&format!(" (help: {})", printable(help, MESSAGE_CHARS)));
            }
            let _ = writeln!(
                out,
                "::error file={},line={line},col={col}::{}",
                github_escape(&printable(&self.path, MESSAGE_CHARS)).replace(',', "%2C"),
                github_escape(&text)
            );
        }
        out
    }
}

impl SourceErrors {
    /// Every diagnostic as a JSON object: `severity`, `message`, `file`, 1-based `line` and
    /// `column` of the start and `end_line`/`end_column` of the end (exclusive), `label`, `help`.
    pub fn to_json(&self) -> Vec<serde_json::Value> {
        self.diagnostics
            .iter()
            .map(|d| {
                let span = clamp_span(&self.source, d.span.clone());
                let (line, column) = self.line_col(span.start);
                let (end_line, end_column) = self.line_col(span.end);
                serde_json::json!({
                    "severity": "error",
                    "message": printable(&d.message, MESSAGE_CHARS),
                    "file": self.path,
                    "line": line,
                    "column": column,
                    "end_line": end_line,
                    "end_column": end_column,
                    "label": d.label,
                    "help": d.help,
                })
            })
            .collect()
    }
}

impl SourceErrors {
    /// Every diagnostic as a SARIF result on its span, for code scanning.
    pub fn to_sarif(&self) -> Vec<crate::sarif::Alert> {
        let index = LineIndex::new(&self.source);
        self.diagnostics
            .iter()
            .map(|d| {
                let span = clamp_span(&self.source, d.span.clone());
                let (line, column) = index.line_col(span.start);
                let (end_line, mut end_column) = index.line_col(span.end);
                if (end_line, end_column) == (line, column) {
                    // An empty span (a missing key): mark the character it points at.
                    end_column += 1;
                }
                let mut message = printable(&d.message, MESSAGE_CHARS);
                if let Some(help) = &d.help {
                    message.push_str(&format!(" (help: {})", printable(help, MESSAGE_CHARS)));
                }
                crate::sarif::Alert {
                    rule: "config".into(),
                    level: crate::sarif::Level::Error,
                    message,
                    location: Some((
                        self.path.clone(),
                        crate::sarif::Region {
                            start_line: line,
                            start_column: Some(column),
                            end_line: Some(end_line),
                            end_column: Some(end_column),
                        },
                    )),
                }
            })
            .collect()
    }
}

/// A diagnostic without a position in a source file (a template, the output directory), in the
/// same JSON shape as [`SourceErrors::to_json`].
pub fn json_without_position(message: &str, file: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "severity": "error",
        "message": message,
        "file": file,
        "line": null,
        "column": null,
        "end_line": null,
        "end_column": null,
        "label": null,
        "help": null,
    })
}

fn github_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `source` as it may be shown on a terminal: each control, bidi or invisible character (see
/// [`crate::text::forbidden`]) replaced by a visible one of the same UTF-8 length, so that spans
/// still point at the same bytes.
fn shown_source(source: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| !matches!(c, '\n' | '\r' | '\t') && crate::text::forbidden(c).is_some();
    if !source.chars().any(unsafe_char) {
        return source.into();
    }
    source
        .chars()
        .map(|c| match (unsafe_char(c), c.len_utf8()) {
            (false, _) => c.to_string(),
            (true, 1) => "?".into(),
            (true, 2) => "\u{b7}".into(),
            (true, 3) => "\u{fffd}".into(),
            (true, _) => "\u{fffd}?".into(),
        })
        .collect::<String>()
        .into()
}

/// The part of `source` to show for `span`: all of it, or a window of the span's line when that
/// line is long (a 1 MB value on one line). Returns the text, its first line number and the
/// span within it.
fn window(source: &str, span: Range<usize>) -> (&str, usize, Range<usize>) {
    let line_start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[span.start..]
        .find('\n')
        .map_or(source.len(), |i| span.start + i);
    if line_end - line_start <= LINE_BYTES && span.end - span.start <= LINE_BYTES {
        return (source, 1, span);
    }
    let floor = |mut i: usize| {
        while !source.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = floor(span.start.saturating_sub(LINE_BYTES / 3).max(line_start));
    let to = floor((span.start + LINE_BYTES).min(line_end));
    let line = source[..span.start].matches('\n').count() + 1;
    let end = span.end.clamp(span.start, to);
    (&source[from..to], line, span.start - from..end - from)
}

/// An empty span at the end of the file would point past the last line; point at the last
/// character instead, and keep spans on char boundaries.
fn clamp_span(source: &str, span: Range<usize>) -> Range<usize> {
    let mut start = span.start.min(source.len());
    let mut end = span.end.clamp(start, source.len());
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    while !source.is_char_boundary(end) {
        end += 1;
    }
    if start == end && start == source.len() && start > 0 {
        start = source[..start].char_indices().last().map_or(0, |(i, _)| i);
    }
    start..end
}

/// 1-based line and column (in characters) of a byte offset in `source`.
/// The start of every line of a source, for many [`line_col`] look-ups in one text: each is then
/// a binary search instead of a scan from the start (15,000 look-ups in a 1.5 MB tenants.toml
/// took seconds).
pub struct LineIndex<'s> {
    source: &'s str,
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub fn new(source: &'s str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { source, starts }
    }

    /// What [`line_col`] returns for `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = self.starts[line - 1];
        let col = self
            .source
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, col)
    }
}

pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_line_index_agrees_with_line_col() {
        let source = "a = 1\nbé = \"ü\"\n\n[t]\nx\n";
        let index = LineIndex::new(source);
        for offset in 0..=source.len() + 2 {
            if source.is_char_boundary(offset.min(source.len())) {
                assert_eq!(index.line_col(offset), line_col(source, offset), "{offset}");
            }
        }
    }

    use super::*;

    #[test]
    fn line_and_column() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 9), (2, 3));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            closest("namespace", ["namespaces", "labels", "ingress"]),
            Some("namespaces")
        );
        assert_eq!(closest("xyz", ["namespaces", "labels"]), None);
    }

    #[test]
    fn json_positions() {
        let errors = SourceErrors {
            path: "t.toml".into(),
            source: "version = 1\nfoo = 2\n".into(),
            diagnostics: vec![Diagnostic::new("unknown key `foo`", 12..15).with_help("remove it")],
        };
        let json = errors.to_json();
        assert_eq!(json[0]["line"], 2);
        assert_eq!(json[0]["column"], 1);
        assert_eq!(json[0]["end_column"], 4);
        assert_eq!(json[0]["help"], "remove it");
        assert_eq!(json[0]["file"], "t.toml");
    }

    #[test]
    fn renders_rustc_style() {
        let errors = SourceErrors {
            path: "tenants.toml".into(),
            source: "version = 1\nfoo = 2\n".into(),
            diagnostics: vec![Diagnostic::new("unknown key `foo`", 12..15).with_help("remove it")],
        };
        let text = errors.render(false);
        assert!(text.starts_with("error: unknown key `foo`\n"), "{text}");
        assert!(text.contains("--> tenants.toml:2:1"), "{text}");
        assert!(text.contains("^^^"), "{text}");
        assert!(text.contains("help: remove it"), "{text}");
    }
}
