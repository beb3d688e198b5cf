//! Docs that cannot go stale. Every ```console block of README.md and docs/*.md (`$ tenantc ...`
//! followed by its output) is run by trycmd against the built binary; the ```text blocks that show
//! the output of an edited tree or config are run below, on that edit of the example; layouts are
//! matched against the example's files; every `tenantc` command shown elsewhere in them must name a
//! subcommand and options that exist; and the README's command synopsis lists exactly the
//! subcommands and options of the help texts, which are the source, described in their words.
//!
//! After an intended change of output: `TRYCMD=overwrite cargo test --test docs` rewrites the
//! blocks in place (keep the `...` and `[..]` elisions it cannot preserve).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::tenantc;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The markdown files whose examples are checked.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let dest = to.join(entry.path().strip_prefix(from).expect("below from"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// The console examples run in a scratch copy of the repository's `tenants/` and `output/`, so an
/// example may compile or edit without touching the checkout, and they see the committed example
/// exactly as a reader of the README does.
#[test]
fn console_examples_print_what_the_docs_show() {
    let scratch = tempfile::tempdir().expect("tempdir");
    for dir in ["tenants", "output"] {
        copy_dir(&root().join(dir), &scratch.path().join(dir));
    }
    // trycmd runs a markdown file's commands in the process's directory (it has no `.in/` next to
    // README.md). No other test of this file depends on the current directory.
    std::env::set_current_dir(scratch.path()).expect("cd scratch");
    let cases = trycmd::TestCases::new();
    cases
        .register_bin("tenantc", trycmd::cargo::cargo_bin("tenantc"))
        .env("NO_COLOR", "1");
    for file in markdown_files() {
        cases.case(file);
    }
    cases.run();
}

/// A fenced block: its info string, first line number (1-based) and text.
struct Block {
    info: String,
    line: usize,
    text: String,
    /// The fence's indentation (in a list item), removed from each line of the text.
    indent: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some(Block {
                        info: info.trim().to_owned(),
                        line: i + 2,
                        text: String::new(),
                        indent: line.len() - trimmed.len(),
                    });
                }
            }
            Some(block) => {
                if trimmed.starts_with("```") {
                    out.extend(open.take());
                } else {
                    let indent = line.len() - trimmed.len();
                    block.text.push_str(&line[indent.min(block.indent)..]);
                    block.text.push('\n');
                }
            }
        }
    }
    out
}

/// The help of `tenantc [sub] --help`.
fn help(sub: Option<&str>) -> String {
    let mut cmd = tenantc();
    cmd.args(sub).arg("--help");
    let out = cmd.output().expect("run tenantc");
    assert!(out.status.success(), "tenantc {sub:?} --help failed");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

/// The subcommands of `tenantc --help`, in its order.
fn subcommands() -> Vec<String> {
    let top = help(None);
    let list = top
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a Commands section in tenantc --help");
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

/// The `--long` options a help text lists in its Options section, and their possible values.
fn options_of(help: &str) -> Vec<(String, Vec<String>)> {
    let mut options: Vec<(String, Vec<String>)> = Vec::new();
    let section = help.split("Options:\n").nth(1).unwrap_or("");
    for line in section.lines() {
        let line = line.trim();
        if let Some(value) = line.strip_prefix("- ").and_then(|v| v.split(':').next()) {
            // The long help lists each value on its own line, `- name: what it does`.
            if let Some(last) = options.last_mut() {
                last.1.push(value.to_owned());
            }
        } else if line.starts_with('-') {
            if let Some(long) = line.split([' ', ',', '=']).find(|w| w.starts_with("--")) {
                options.push((long.to_owned(), Vec::new()));
            }
        } else if let Some(values) = line
            .split("[possible values: ")
            .nth(1)
            .and_then(|v| v.split(']').next())
        {
            if let Some(last) = options.last_mut() {
                last.1 = values.split(", ").map(String::from).collect();
            }
        } else if line.starts_with("Examples:") {
            break;
        }
    }
    options
}

/// The options shared by every subcommand (`tenantc --help`).
fn global_options() -> BTreeSet<String> {
    options_of(&help(None))
        .into_iter()
        .map(|(o, _)| o)
        .collect()
}

/// A `tenantc ...` command as the docs show it: the subcommand and the words after it, with global
/// options before the subcommand skipped and a trailing `# comment` or shell plumbing cut off.
fn parse_command(line: &str) -> Option<(String, Vec<String>)> {
    let start = line.find("tenantc ")?;
    let before = &line[..start];
    // `cargo install ... tenantc`, a path or a word ending in tenantc is not a tenantc command.
    if !(before.is_empty() || before.ends_with("$ ") || before.ends_with("&& ")) {
        return None;
    }
    let command = line[start + "tenantc ".len()..]
        .split(" #")
        .next()
        .unwrap_or("")
        .split(['|', '>', '&'])
        .next()
        .unwrap_or("");
    let mut words = command.split_whitespace().map(String::from).peekable();
    while words.peek().is_some_and(|w| w.starts_with('-')) {
        let option = words.next().unwrap_or_default();
        if option == "--message-format" || option == "--color" {
            words.next();
        }
    }
    let sub = words.next()?;
    Some((sub, words.collect()))
}

/// Every `tenantc` command shown in README.md and docs/ (to type or with its output) names a
/// subcommand that exists and only options, and option values, that its help lists.
#[test]
fn every_command_shown_exists_with_its_options() {
    let subs = subcommands();
    let globals = global_options();
    let mut checked = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("read markdown");
        let name = file
            .strip_prefix(root())
            .expect("in the repository")
            .display();
        for block in blocks(&text) {
            if !matches!(block.info.as_str(), "sh" | "console" | "text" | "") {
                continue;
            }
            for (offset, line) in block.text.lines().enumerate() {
                let Some((sub, words)) = parse_command(line) else {
                    continue;
                };
                let at = format!("{name}:{}: `{}`", block.line + offset, line.trim());
                assert!(subs.contains(&sub), "{at}: no subcommand `{sub}`");
                let options = options_of(&help(Some(&sub)));
                for word in words.iter().filter(|w| w.starts_with("--")) {
                    let (option, value) = match word.split_once('=') {
                        Some((o, v)) => (o, Some(v)),
                        None => (word.as_str(), None),
                    };
                    let known = options.iter().find(|(o, _)| o == option);
                    assert!(
                        known.is_some() || globals.contains(option),
                        "{at}: `tenantc {sub}` has no option `{option}`"
                    );
                    if let (Some((_, values)), Some(value)) = (known, value) {
                        assert!(
                            values.is_empty() || values.iter().any(|v| v == value),
                            "{at}: `{option}` takes one of {values:?}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} commands found in the docs");
}

/// The README's synopsis ("Commands and exit codes") has one line per subcommand of the help,
/// naming each of the subcommand's own options with the values the help lists: the help
/// texts are the source, and a new option or subcommand fails here until the README shows it.
#[test]
fn readme_synopsis_matches_the_help_texts() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("## Commands and exit codes\n")
        .nth(1)
        .expect("a `## Commands and exit codes` section in README.md");
    let synopsis = blocks(section)
        .into_iter()
        .next()
        .expect("a synopsis block in `## Commands and exit codes`");
    let lines = synopsis_lines(&synopsis);
    let shown: BTreeSet<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
    let subs = subcommands();
    assert_eq!(
        shown,
        subs.iter().map(String::as_str).collect(),
        "README.md's synopsis does not list the subcommands of `tenantc --help`"
    );
    assert_eq!(
        lines.len(),
        subs.len(),
        "a subcommand twice in README.md's synopsis"
    );
    assert_synopsis_matches_help("README.md", &lines);
}

/// docs/verify.md's synopsis of the four commands that read the tree back matches their help
/// texts as the README's does.
#[test]
fn docs_verify_synopsis_matches_the_help_texts() {
    let text = std::fs::read_to_string(root().join("docs/verify.md")).expect("docs/verify.md");
    let synopsis = blocks(&text)
        .into_iter()
        .find(|b| b.text.starts_with("tenantc verify "))
        .expect("a synopsis block in docs/verify.md");
    let lines = synopsis_lines(&synopsis);
    let shown: Vec<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(shown, ["verify", "explain", "diff", "graph"]);
    assert_synopsis_matches_help("docs/verify.md", &lines);
}

/// `(subcommand, line without its comment)` of each command of a synopsis block.
fn synopsis_lines(synopsis: &Block) -> Vec<(String, String)> {
    synopsis_commands(synopsis)
        .into_iter()
        .map(|(sub, line, _)| (sub, line))
        .collect()
}

/// `(subcommand, line without its comment, comment)` of each command of a synopsis block; the
/// comment is at the end of the line, or on the next line when the command is long.
fn synopsis_commands(synopsis: &Block) -> Vec<(String, String, Option<String>)> {
    let mut commands: Vec<(String, String, Option<String>)> = Vec::new();
    for l in synopsis.text.lines() {
        if let Some(comment) = l.trim_start().strip_prefix("# ") {
            let last = commands.last_mut().expect("a comment after a command");
            assert!(last.2.is_none(), "two comments for `{}`", last.1);
            last.2 = Some(comment.trim().to_owned());
            continue;
        }
        let (sub, _) = parse_command(l).unwrap_or_else(|| panic!("not a command: `{l}`"));
        let (line, comment) = match l.split_once(" # ") {
            Some((line, comment)) => (line, Some(comment.trim().to_owned())),
            None => (l, None),
        };
        commands.push((sub, line.trim_end().to_owned(), comment));
    }
    commands
}

/// The one-line description of each subcommand in `tenantc --help`.
fn descriptions() -> Vec<(String, String)> {
    let top = help(None);
    let list = top
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a Commands section in tenantc --help");
    list.lines()
        .filter_map(|l| l.trim().split_once(' '))
        .filter(|(c, _)| *c != "help")
        .map(|(c, d)| (c.to_owned(), d.trim().to_owned()))
        .collect()
}

/// The README's synopsis says what each subcommand does in the words of `tenantc --help` (the
/// one-line descriptions, lower-cased at the start): a reader of either sees the same command.
#[test]
fn readme_synopsis_describes_each_command_as_its_help() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("## Commands and exit codes\n")
        .nth(1)
        .expect("a `## Commands and exit codes` section in README.md");
    let synopsis = blocks(section)
        .into_iter()
        .next()
        .expect("a synopsis block");
    let described: std::collections::BTreeMap<String, String> =
        descriptions().into_iter().collect();
    assert_eq!(described.len(), subcommands().len());
    for (sub, line, comment) in synopsis_commands(&synopsis) {
        let help = &described[&sub];
        let mut chars = help.chars();
        let expected: String = chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect())
            .unwrap_or_default();
        assert_eq!(
            comment.as_deref(),
            Some(expected.as_str()),
            "README.md's `{line}` does not say what `tenantc --help` says of `{sub}`"
        );
    }
}

/// Each synopsis line names its subcommand's positional arguments and own options, with the
/// option values the help lists.
fn assert_synopsis_matches_help(file: &str, lines: &[(String, String)]) {
    let globals = global_options();
    for (sub, line) in lines {
        let help = help(Some(sub));
        // Positional arguments: `Usage: tenantc explain [OPTIONS] <FROM> <TO>` is `FROM TO`.
        let usage = help
            .lines()
            .find_map(|l| l.strip_prefix(&format!("Usage: tenantc {sub} ")))
            .unwrap_or("");
        let mut words = usage.split_whitespace().filter(|w| *w != "[OPTIONS]");
        while let Some(arg) = words.next() {
            if arg.starts_with("--") {
                words.next(); // a required option's value, checked with the options below
                continue;
            }
            let bare = arg.trim_matches(['<', '>', '[', ']', '.']);
            assert!(
                line.contains(bare),
                "{file}'s `{line}` lacks the argument {arg} of `tenantc {sub}`"
            );
        }
        for (option, values) in options_of(&help) {
            if globals.contains(&option) || option == "--help" {
                continue;
            }
            assert!(
                line.split([' ', '[', ']']).any(|w| w == option),
                "{file}'s `{line}` lacks `{option}` of `tenantc {sub} --help`"
            );
            if let Some(shown) = line
                .split(&format!("{option} "))
                .nth(1)
                .and_then(|rest| rest.split(']').next())
                .filter(|v| v.contains('|'))
            {
                let shown: BTreeSet<&str> = shown.split('|').collect();
                let values: BTreeSet<&str> = values.iter().map(String::as_str).collect();
                assert_eq!(
                    shown, values,
                    "{file}'s `{line}`: the values of `{option}` are not those of the help"
                );
            }
        }
    }
}

// ---- Outputs of a changed tree or config -----------------------------------------------------
//
// These examples show what tenantc prints after an edit the prose describes, so they are
// ```text blocks (trycmd would run them on the unchanged example). Each test makes that edit in
// a scratch copy and requires the block to end with what tenantc prints.

/// A scratch directory with a copy of the repository's `tenants/` and `output/`.
fn scratch_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["tenants", "output"] {
        copy_dir(&root().join(sub), &dir.path().join(sub));
    }
    dir
}

/// Replaces the first `from` in the file `rel` below `dir`; fails if it is absent.
fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).expect("read file to edit");
    assert!(text.contains(from), "`{from}` not in {rel}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write edited file");
}

/// stdout and stderr of `tenantc <args>` run in `dir`, and its exit code.
fn run_in(dir: &Path, args: &[&str]) -> (String, i32) {
    let out = tenantc()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run tenantc");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (text, out.status.code().unwrap_or(-1))
}

/// `file` (relative to the repository) has a block that ends with `output`.
fn assert_docs_show(file: &str, output: &str) {
    let text = std::fs::read_to_string(root().join(file)).expect("read markdown");
    assert!(
        blocks(&text).iter().any(|b| b.text.ends_with(output)),
        "{file} no longer shows what tenantc prints; it now prints:\n{output}"
    );
}

#[test]
fn verify_of_a_hand_widened_tree_is_what_the_docs_show() {
    let dir = scratch_example();
    edit(
        dir.path(),
        "output/tenants/globex/globex-web/networkpolicies.yaml",
        "          - globex-web\n  egress:",
        "          - globex-web\n          - umbrella\n  egress:",
    );
    edit(
        dir.path(),
        "output/tenants/umbrella/umbrella/sidecar.yaml",
        "    - \"common-services/*\"\n",
        "    - \"common-services/*\"\n    - \"globex-web/*\"\n",
    );
    let (output, code) = run_in(dir.path(), &["verify"]);
    assert_eq!(code, 1, "{output}");
    assert_docs_show("README.md", &output);
    assert_docs_show("docs/verify.md", &output);
}

#[test]
fn a_namespace_claimed_twice_is_the_error_the_readme_shows() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("tenants")).expect("mkdir");
    std::fs::write(
        dir.path().join("tenants/tenants.toml"),
        "version = 1\n[tenants.acme]\nnamespaces = [\"shared-db\"]\n[tenants.globex]\nnamespaces = [\"shared-db\"]\n",
    )
    .expect("write config");
    let (output, code) = run_in(dir.path(), &["compile"]);
    assert_eq!(code, 2, "{output}");
    assert_docs_show("README.md", &output);
}

#[test]
fn removing_a_compiled_namespace_is_the_refusal_the_readme_shows() {
    let dir = scratch_example();
    let config = "tenants/tenants.toml";
    let example = std::fs::read_to_string(dir.path().join(config)).expect("read example");
    std::fs::write(
        dir.path().join(config),
        example + "\n[tenants.newco]\nnamespaces = [\"newco\", \"newco-batch\"]\n",
    )
    .expect("add newco");
    let (output, code) = run_in(dir.path(), &["compile"]);
    assert_eq!(code, 0, "{output}");
    edit(dir.path(), config, ", \"newco-batch\"]", "]");
    let (output, code) = run_in(dir.path(), &["compile"]);
    assert_eq!(code, 1, "{output}");
    assert_docs_show("README.md", &output);
}

#[test]
fn diff_against_a_base_before_stripe_and_the_expose_is_what_the_docs_show() {
    let dir = scratch_example();
    let example =
        std::fs::read_to_string(dir.path().join("tenants/tenants.toml")).expect("read example");
    let grant = "consumers = [\"acme\", \"payments\"]";
    assert!(example.contains(grant), "stripe's consumers changed");
    let mut base = example.replacen(grant, "consumers = [\"payments\"]", 1);
    let expose = base
        .find("[tenants.acme.expose.acme-api]")
        .expect("the acme-api expose");
    let next = expose
        + base[expose..]
            .find("\n[tenants.globex]")
            .expect("globex after it");
    base.replace_range(expose..next, "");
    std::fs::write(dir.path().join("base.toml"), base).expect("write base");
    let (output, code) = run_in(dir.path(), &["diff", "--base", "base.toml"]);
    assert_eq!(code, 0, "{output}");
    assert_docs_show("README.md", &output);
    assert_docs_show("docs/verify.md", &output);
}

#[test]
fn the_walkthroughs_counts_are_what_init_and_compile_print() {
    // docs/gitops.md: `tenantc init`, [gitops] uncommented, compile, verify.
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &["init", "--ci", "none"]);
    let config = dir.path().join("tenants/tenants.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let mut uncommented = String::new();
    let mut in_gitops = false;
    for line in text.lines() {
        if line == "# [gitops]" {
            in_gitops = true;
        } else if in_gitops && !line.starts_with("# ") {
            in_gitops = false;
        }
        uncommented.push_str(if in_gitops { &line[2..] } else { line });
        uncommented.push('\n');
    }
    assert!(
        uncommented.contains("\n[gitops]\ntool = \"argocd\""),
        "{uncommented}"
    );
    std::fs::write(&config, uncommented).unwrap();
    let (compiled, code) = run_in(dir.path(), &["compile"]);
    assert_eq!(code, 0, "{compiled}");
    let (verified, code) = run_in(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{verified}");
    let docs = std::fs::read_to_string(root().join("docs/gitops.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        docs.contains(&format!("`{}`", flat(compiled.trim()))),
        "docs/gitops.md no longer shows what compile prints: {compiled}"
    );
    let last = verified
        .lines()
        .find(|l| l.starts_with("output matches"))
        .unwrap();
    assert!(
        docs.contains(&format!("`{}`", flat(last))),
        "docs/gitops.md no longer shows what verify prints: {last}"
    );
}

#[test]
fn the_readmes_example_compiles_to_the_sidecar_it_shows() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("## An example").expect("the example section")..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let found = blocks(section);
    let toml = found
        .iter()
        .find(|b| b.info == "toml")
        .expect("a toml block");
    let yaml = found
        .iter()
        .find(|b| b.info == "yaml")
        .expect("a yaml block");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tenants")).unwrap();
    std::fs::write(dir.path().join("tenants/tenants.toml"), &toml.text).unwrap();
    let (out, code) = run_in(dir.path(), &["compile"]);
    assert_eq!(code, 0, "{out}");
    let sidecar = std::fs::read_to_string(
        dir.path()
            .join("output/tenants/acme/acme-jobs/sidecar.yaml"),
    )
    .unwrap();
    assert_eq!(
        sidecar.trim_end(),
        yaml.text.trim_end(),
        "README.md's example Sidecar is not what its tenants.toml compiles to"
    );
}

/// `file` has a ```text block of which every line is a line of `output` (an excerpt of a long
/// output).
fn assert_docs_excerpt(file: &str, output: &str) {
    let text = std::fs::read_to_string(root().join(file)).expect("read markdown");
    let printed: BTreeSet<&str> = output.lines().collect();
    assert!(
        blocks(&text).iter().any(|b| b.info == "text"
            && !b.text.trim().is_empty()
            && b.text.lines().all(|l| printed.contains(l))),
        "{file} no longer shows an excerpt of what tenantc prints; it now prints:\n{output}"
    );
}

/// Replaces the first `from` after the first `anchor` in the file `rel` below `dir`.
fn edit_after(dir: &Path, rel: &str, anchor: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).expect("read file to edit");
    let at = text
        .find(anchor)
        .unwrap_or_else(|| panic!("`{anchor}` not in {rel}"));
    let (head, tail) = text.split_at(at);
    assert!(
        tail.contains(from),
        "`{from}` not after `{anchor}` in {rel}"
    );
    std::fs::write(&path, format!("{head}{}", tail.replacen(from, to, 1)))
        .expect("write edited file");
}

/// The example tree with acme-api's `allow-consumers` AuthorizationPolicy admitting umbrella
/// instead of globex-web (README.md and docs/mesh.md).
fn authorization_edited() -> tempfile::TempDir {
    let dir = scratch_example();
    edit(
        dir.path(),
        "output/tenants/acme/acme-api/authorizationpolicies.yaml",
        "        - globex-batch\n        - globex-web\n",
        "        - globex-batch\n        - umbrella\n",
    );
    dir
}

#[test]
fn verify_of_an_edited_authorization_policy_is_what_the_readme_shows() {
    let dir = authorization_edited();
    let (output, code) = run_in(dir.path(), &["verify"]);
    assert_eq!(code, 1, "{output}");
    assert_docs_show("README.md", &output);
}

#[test]
fn verify_of_a_widened_external_and_an_exported_service_entry_is_what_the_readme_shows() {
    let dir = scratch_example();
    edit(
        dir.path(),
        "output/tenants/globex/globex-web/networkpolicies.yaml",
        "cidr: \"203.0.113.10/32\"",
        "cidr: \"203.0.113.10/24\"",
    );
    edit_after(
        dir.path(),
        "output/tenants/acme/acme/serviceentries.yaml",
        "  name: external-stripe\n",
        "  exportTo:\n  - \".\"\n",
        "  exportTo:\n  - \"*\"\n",
    );
    let (output, code) = run_in(dir.path(), &["verify"]);
    assert_eq!(code, 1, "{output}");
    assert_docs_show("README.md", &output);
}

#[test]
fn graph_of_an_edited_authorization_policy_has_the_edge_docs_mesh_shows() {
    let dir = authorization_edited();
    let (output, code) = run_in(dir.path(), &["graph"]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("  globex -- \"TCP/8443; the mesh denies TCP/8443\" --> acme\n"));
    assert_docs_excerpt("docs/mesh.md", &output);
}

#[test]
fn diff_of_two_trees_whose_layers_disagree_is_what_docs_mesh_shows() {
    let edited = authorization_edited();
    let before = scratch_example();
    let before_output = before.path().join("output").display().to_string();
    let (output, code) = run_in(edited.path(), &["diff", "--base", &before_output]);
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("! "), "{output}");
    assert_docs_show("docs/mesh.md", &output);
    let edited_output = edited.path().join("output").display().to_string();
    let (output, code) = run_in(before.path(), &["diff", "--base", &edited_output]);
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("= "), "{output}");
    assert_docs_show("docs/mesh.md", &output);
}

/// README.md's map of the code names every file and directory of src/, and nothing else.
#[test]
fn the_readmes_map_of_the_code_is_what_src_holds() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let map = blocks(&readme)
        .into_iter()
        .find(|b| b.info == "text" && b.text.starts_with("src/"))
        .expect("a ```text block listing src/");
    let shown: BTreeSet<String> = map
        .text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("src/"))
        .map(String::from)
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(root().join("src"))
        .expect("src/")
        .map(|e| {
            let e = e.expect("src/ entry");
            let name = e.file_name().to_string_lossy().into_owned();
            let dir = if e.path().is_dir() { "/" } else { "" };
            format!("src/{name}{dir}")
        })
        .collect();
    assert_eq!(shown, present, "README.md's map of src/ is stale");
}

/// Whether the path `segments` matches a layout line's pattern: `<name>` is any one segment,
/// `{a,b}` either word, `...` one or more segments.
fn layout_matches(pattern: &[&str], segments: &[&str]) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return segments.is_empty();
    };
    if *first == "..." {
        return (1..=segments.len()).any(|k| layout_matches(rest, &segments[k..]));
    }
    let Some((segment, others)) = segments.split_first() else {
        return false;
    };
    // `{a,b}` first, then `<name>` within what is left.
    let alternatives: Vec<String> = match first.split_once('{') {
        Some((head, tail)) => {
            let (words, suffix) = tail.split_once('}').expect("a closing brace");
            words
                .split(',')
                .map(|w| format!("{head}{w}{suffix}"))
                .collect()
        }
        None => vec![(*first).to_owned()],
    };
    let matches = alternatives.iter().any(|a| {
        match a
            .split_once('<')
            .and_then(|(head, tail)| Some((head, tail.split_once('>')?.1)))
        {
            Some((head, suffix)) => {
                segment.len() > head.len() + suffix.len()
                    && segment.starts_with(head)
                    && segment.ends_with(suffix)
            }
            None => a == segment,
        }
    });
    matches && layout_matches(rest, others)
}

/// The file patterns of a layout block (the first word of each line, without `prefix`; a
/// directory, ending in `/`, is not a file).
fn layout_patterns(block: &Block, prefix: &str) -> Vec<String> {
    block
        .text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| !w.ends_with('/'))
        .map(|w| w.strip_prefix(prefix).unwrap_or(w).to_owned())
        .collect()
}

/// Every file below `dir` of the committed example (with [gitops]) matches a pattern, and every
/// pattern a file: the layout shown is the one compile writes.
fn assert_layout_is_the_examples(file: &str, patterns: &[String], dir: &str) {
    let output = root().join("output");
    let files: Vec<String> = walkdir::WalkDir::new(output.join(dir))
        .into_iter()
        .map(|e| e.expect("walk output/"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(&output).expect("below output/");
            rel.to_string_lossy().replace('\\', "/")
        })
        .collect();
    assert!(
        files.iter().any(|f| f.starts_with("gitops/")),
        "no [gitops]"
    );
    let split = |p: &str| p.split('/').map(String::from).collect::<Vec<_>>();
    let matches = |pattern: &str, file: &str| {
        let pattern = split(pattern);
        let file = split(file);
        let pattern: Vec<&str> = pattern.iter().map(String::as_str).collect();
        let file: Vec<&str> = file.iter().map(String::as_str).collect();
        layout_matches(&pattern, &file)
    };
    for f in &files {
        assert!(
            patterns.iter().any(|p| matches(p, f)),
            "{file}'s layout does not show output/{f}"
        );
    }
    for p in patterns {
        assert!(
            files.iter().any(|f| matches(p, f)),
            "{file}'s layout shows `{p}`, which the example has not"
        );
    }
}

#[test]
fn the_readmes_output_layout_is_what_compile_writes() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let layout = blocks(&readme)
        .into_iter()
        .find(|b| b.info == "text" && b.text.starts_with("output/\n"))
        .expect("the output layout block");
    let patterns = layout_patterns(&layout, "");
    assert!(patterns.len() > 5, "{patterns:?}");
    assert_layout_is_the_examples("README.md", &patterns, "");
}

#[test]
fn docs_gitops_layout_is_what_compile_writes() {
    let text = std::fs::read_to_string(root().join("docs/gitops.md")).expect("docs/gitops.md");
    let layout = blocks(&text)
        .into_iter()
        .find(|b| b.info == "text" && b.text.starts_with("output/gitops/"))
        .expect("the gitops layout block");
    let patterns = layout_patterns(&layout, "output/");
    assert_layout_is_the_examples("docs/gitops.md", &patterns, "gitops");
}

/// The line a compile prints, quoted in README.md's quick start and docs/gitops.md: on a fresh
/// checkout, and again on the committed tree.
#[test]
fn the_compile_lines_quoted_are_what_compile_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&root().join("tenants"), &dir.path().join("tenants"));
    let (fresh, code) = run_in(dir.path(), &["compile"]);
    assert_eq!(code, 0, "{fresh}");
    let (again, code) = run_in(dir.path(), &["compile"]);
    assert_eq!(code, 0, "{again}");
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let readme = flat(&std::fs::read_to_string(root().join("README.md")).expect("README.md"));
    let gitops = flat(&std::fs::read_to_string(root().join("docs/gitops.md")).expect("gitops"));
    let quoted = format!("`{}`", fresh.trim());
    assert!(
        readme.contains(&quoted),
        "README.md does not quote {quoted}"
    );
    assert!(
        gitops.contains(&quoted),
        "docs/gitops.md does not quote {quoted}"
    );
    // `... 0 files written, 114 unchanged`: the counts of the second run.
    let counts = again
        .trim()
        .split(": ")
        .nth(1)
        .and_then(|c| c.split(", 0 removed").next())
        .expect("counts");
    assert!(
        readme.contains(&format!("`{counts}`")),
        "README.md does not quote `{counts}`"
    );
}

/// The README's side-by-side snippets of the workflow and the pre-commit config are the steps of
/// examples/github-actions.yml (what `tenantc init` writes) and hooks .pre-commit-hooks.yaml has.
#[test]
fn the_readmes_ci_snippets_are_the_examples() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let block = blocks(&readme)
        .into_iter()
        .find(|b| b.info == "yaml" && b.text.starts_with("# .github/workflows/tenantc.yml"))
        .expect("the CI snippets block");
    let first = block.text.lines().next().unwrap_or("");
    let column = first
        .find("# .pre-commit-config.yaml")
        .expect("the pre-commit column");
    let (mut workflow, mut precommit) = (String::new(), String::new());
    for line in block.text.lines().skip(1) {
        let (left, right) = line.split_at(column.min(line.len()));
        workflow.push_str(left.trim_end());
        workflow.push('\n');
        precommit.push_str(right.strip_prefix("# ").unwrap_or(right));
        precommit.push('\n');
    }
    let steps: serde_json::Value = serde_yaml::from_str(&workflow).expect("workflow steps");
    let example: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("examples/github-actions.yml")).expect("workflow"),
    )
    .expect("examples/github-actions.yml");
    let example_steps = example["jobs"]["tenantc"]["steps"]
        .as_array()
        .expect("steps");
    for step in steps.as_array().expect("a list of steps") {
        assert!(
            example_steps
                .iter()
                .any(|s| s["uses"] == step["uses"] && s["with"] == step["with"]),
            "README.md's step {step} is not in examples/github-actions.yml"
        );
    }
    let config: serde_json::Value = serde_yaml::from_str(&precommit).expect("pre-commit config");
    let repo = &config[0];
    assert_eq!(repo["rev"], format!("v{}", env!("CARGO_PKG_VERSION")));
    let hooks: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("hooks"),
    )
    .expect(".pre-commit-hooks.yaml");
    let ids: BTreeSet<&str> = hooks
        .as_array()
        .expect("hooks")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    let shown: BTreeSet<&str> = repo["hooks"]
        .as_array()
        .expect("hooks shown")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(
        shown, ids,
        "README.md's hooks are not .pre-commit-hooks.yaml's"
    );
}
