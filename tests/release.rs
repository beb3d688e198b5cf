//! The prebuilt release assets have one list, release/assets.txt: the release workflow builds
//! exactly those, `cargo binstall`'s template names each, and the action downloads them.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `(target, runner, asset)` of each line of release/assets.txt.
fn assets() -> Vec<(String, String, String)> {
    let list: Vec<_> = read("release/assets.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "{l}");
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    let targets: Vec<&str> = list.iter().map(|(t, _, _)| t.as_str()).collect();
    // The five: Linux (x86_64, aarch64; musl), macOS (arm64, x86_64), Windows.
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "aarch64-apple-darwin",
            "x86_64-apple-darwin",
            "x86_64-pc-windows-msvc"
        ]
    );
    list
}

#[test]
fn the_release_workflow_builds_exactly_the_listed_assets() {
    let workflow: serde_json::Value =
        serde_yaml::from_str(&read(".github/workflows/release.yml")).expect("YAML");
    let include = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .expect("a build matrix");
    let built: Vec<(String, String, String)> = include
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (s("target"), s("runner"), s("asset"))
        })
        .collect();
    assert_eq!(built, assets());
    // Each is built for its target, with its checksum, and released on a version tag.
    let text = read(".github/workflows/release.yml");
    for needle in [
        "cargo build --locked --release --target \"${{ matrix.target }}\"",
        "\"${{ matrix.asset }}.sha256\"",
        "SHA256SUMS",
        "gh release create \"$GITHUB_REF_NAME\" dist/*",
    ] {
        assert!(text.contains(needle), "release.yml lacks {needle}");
    }
    assert_eq!(workflow["on"]["push"]["tags"][0], "v[0-9]*");
}

#[test]
fn binstall_names_each_asset() {
    let cargo: toml::Value = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml");
    let binstall = &cargo["package"]["metadata"]["binstall"];
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("bin"));
    let template = binstall["pkg-url"].as_str().expect("pkg-url");
    let version = cargo["package"]["version"].as_str().unwrap();
    for (target, _, asset) in assets() {
        // cargo-binstall's `{ binary-ext }` is `.exe` on Windows, empty elsewhere.
        let ext = if target.contains("windows") {
            ".exe"
        } else {
            ""
        };
        let url = template
            .replace("{ repo }", "https://example.invalid/tenantc")
            .replace("{ version }", version)
            .replace("{ target }", &target)
            .replace("{ binary-ext }", ext);
        assert_eq!(
            url,
            format!("https://example.invalid/tenantc/releases/download/v{version}/{asset}")
        );
    }
}

#[cfg(unix)]
#[test]
fn the_action_downloads_the_asset_of_each_runner() {
    // `uname -s` and `uname -m` of the runners of each target (Git Bash on Windows).
    let runners = [
        ("Linux", "x86_64", "x86_64-unknown-linux-musl"),
        ("Linux", "aarch64", "aarch64-unknown-linux-musl"),
        ("Darwin", "arm64", "aarch64-apple-darwin"),
        ("Darwin", "x86_64", "x86_64-apple-darwin"),
        ("MINGW64_NT-10.0-20348", "x86_64", "x86_64-pc-windows-msvc"),
    ];
    let asset_of = |os: &str, arch: &str| {
        std::process::Command::new("bash")
            .arg(root().join("action/run.sh"))
            .args(["asset", os, arch])
            .output()
            .expect("bash runs")
    };
    let assets = assets();
    for (os, arch, target) in runners {
        let out = asset_of(os, arch);
        assert!(out.status.success(), "{os}/{arch}: {out:?}");
        let listed = assets.iter().find(|(t, _, _)| t == target).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), listed.2);
    }
    assert_eq!(runners.len(), assets.len(), "a runner for every asset");
    // A platform without a release asset: the action builds from source instead.
    assert!(!asset_of("FreeBSD", "amd64").status.success());
}
