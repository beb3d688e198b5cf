//! How the draft names its owners and externals: DNS-1123 labels, unique among those taken.

use std::collections::HashSet;

/// A DNS-1123 label made of `s` (lowercase, `-` for anything else), at most `max` characters.
pub(super) fn label_name(s: &str, max: usize) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(max);
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "x".into()
    } else {
        trimmed.to_owned()
    }
}

/// `base`, or `base-2`, `base-3`, ... the first not in `used` (then added to it).
pub(super) fn unique(base: String, used: &mut HashSet<String>, max: usize) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name) {
        let suffix = format!("-{n}");
        let mut b = base.clone();
        b.truncate(max - suffix.len());
        name = format!("{}{suffix}", b.trim_end_matches('-'));
        n += 1;
    }
    used.insert(name.clone());
    name
}

/// The longest common prefix of the names, cut at a `-`, else the first name.
pub(super) fn common_prefix(names: &[&str]) -> String {
    let first = names[0];
    if names.len() == 1 {
        return first.to_owned();
    }
    let mut len = first.len();
    for n in &names[1..] {
        len = len.min(
            first
                .bytes()
                .zip(n.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let prefix = &first[..len];
    // A whole name, or up to a `-` boundary.
    let cut = if names.contains(&prefix) {
        prefix
    } else {
        prefix.rfind('-').map_or("", |i| &prefix[..i])
    };
    let cut = cut.trim_end_matches('-');
    if cut.is_empty() {
        first.to_owned()
    } else {
        cut.to_owned()
    }
}
