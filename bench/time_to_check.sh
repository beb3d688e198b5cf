#!/usr/bin/env bash
# Time from a clean runner to the first check, the action's prebuilt path (the release
# download replaced by a file:// URL, as in tests/action.rs) against `cargo install`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
w=$(mktemp -d)
asset=$(bash "$root/action/run.sh" asset "$(uname -s)" "$(uname -m)")
rel="$w/releases/download/v0.1.0"; mkdir -p "$rel"
cp "$root/target/release/tenantc" "$rel/$asset"
(cd "$rel" && sha256sum "$asset" > "$asset.sha256")
mkdir -p "$w/repo" "$w/runner_temp" && cd "$w/repo"
"$root/target/release/tenantc" init --ci none >/dev/null && "$root/target/release/tenantc" compile >/dev/null
git init -q -b main && git add . && git -c user.email=a@b -c user.name=a commit -qm base
export GITHUB_STEP_SUMMARY="$w/summary.md" GITHUB_OUTPUT="$w/out" GITHUB_PATH="$w/path" RUNNER_TEMP="$w/runner_temp"
export GITHUB_EVENT_NAME=push ACTION_PATH="$root" ACTION_REPOSITORY=example/tenantc ACTION_REF=v0.1.0
export TENANTC_RELEASES="file://$w/releases"
start=$(date +%s.%N)
bash "$root/action/run.sh" install
PATH="$(cat "$w/path"):$PATH" bash "$root/action/run.sh" check
end=$(date +%s.%N)
echo "prebuilt path: install + compile --check + verify: $(echo "$end - $start" | bc) s"
start=$(date +%s.%N)
CARGO_TARGET_DIR="$w/target" cargo install --quiet --locked --path "$root" --root "$w/cargo-root"
"$w/cargo-root/bin/tenantc" compile --check >/dev/null && "$w/cargo-root/bin/tenantc" verify >/dev/null
end=$(date +%s.%N)
echo "cargo install (crates already in the local registry cache) + the same checks: $(echo "$end - $start" | bc) s"
rm -rf "$w"
