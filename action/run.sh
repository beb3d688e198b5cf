#!/usr/bin/env bash
# The steps of the tenantc GitHub Action (action.yml), one subcommand each, so that a test can run
# them outside GitHub (tests/action.rs) with a fake environment:
#
#   run.sh install          put tenantc on the PATH: the release binary for INPUT_VERSION, its
#                           checksum verified, or built with cargo from the action's own checkout
#                           when no release matches
#   run.sh check            compile --check and verify, annotated on the pull request
#   run.sh diff             diff against the pull request's base into the job summary, and with
#                           INPUT_COMMENT=true into the action's own pull-request comment
#   run.sh asset OS ARCH    the release asset for a runner (`uname -s`, `uname -m`), or exit 1
#
# Environment: the INPUT_* variables action.yml sets from its inputs; GitHub's GITHUB_* and
# RUNNER_* variables; ACTION_PATH (the action's checkout), ACTION_REPOSITORY and ACTION_REF (which
# release matches); TENANTC_RELEASES, the base URL of the releases (a file:// URL in tests).
set -euo pipefail

ACTION_PATH=${ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}
CONFIG=${INPUT_CONFIG:-tenants/tenants.toml}
OUTPUT=${INPUT_OUTPUT:-output}
TEMPLATES=${INPUT_TEMPLATES:-}
# The marker that finds this action's comment for this tenants file among the pull request's.
MARKER="<!-- tenantc-action: reachability of ${CONFIG} -->"

note() { printf '%s\n' "$*" >&2; }
fail() { printf '::error title=tenantc action::%s\n' "$*"; exit 1; }

# The Rust target of a runner, from `uname -s` and `uname -m`.
target_of() {
  case "$1/$2" in
    Linux/x86_64 | Linux/amd64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-musl ;;
    Darwin/arm64 | Darwin/aarch64) echo aarch64-apple-darwin ;;
    Darwin/x86_64) echo x86_64-apple-darwin ;;
    MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64 | Windows*/x86_64 | Windows*/X64) echo x86_64-pc-windows-msvc ;;
    *) return 1 ;;
  esac
}

# The asset of a target, from release/assets.txt (the one list of the release's assets).
asset_of() {
  awk -v t="$1" '$1 == t && $0 !~ /^#/ { print $3; found = 1 } END { exit !found }' \
    "$ACTION_PATH/release/assets.txt"
}

sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

add_path() {
  echo "$1" >> "${GITHUB_PATH:-/dev/null}"
  export PATH="$1:$PATH"
}

# Which release to download: the version input, else the action's own ref when it is a version tag
# (`uses: org/tenantc@v0.2.0`); a branch or a commit has no release and is built from source.
release_version() {
  local v=${INPUT_VERSION:-}
  if [ -z "$v" ]; then v=${ACTION_REF:-}; fi
  case "$v" in
    latest) echo latest ;;
    v[0-9]*) echo "$v" ;;
    [0-9]*) echo "v$v" ;;
    *) return 1 ;;
  esac
}

install_tenantc() {
  local dir="${RUNNER_TEMP:-/tmp}/tenantc-action"
  mkdir -p "$dir/bin"
  local version target asset base url
  if version=$(release_version) && target=$(target_of "$(uname -s)" "$(uname -m)") && asset=$(asset_of "$target"); then
    base=${TENANTC_RELEASES:-${GITHUB_SERVER_URL:-https://github.com}/${ACTION_REPOSITORY:-}/releases}
    if [ "$version" = latest ]; then url="$base/latest/download"; else url="$base/download/$version"; fi
    if curl --fail --silent --show-error --location --retry 3 --output "$dir/$asset" "$url/$asset" \
      && curl --fail --silent --show-error --location --retry 3 --output "$dir/$asset.sha256" "$url/$asset.sha256"; then
      local want got
      want=$(cut -d' ' -f1 < "$dir/$asset.sha256")
      got=$(sha256_of "$dir/$asset")
      # A release whose binary does not match its checksum is an error, not a reason to build.
      [ "$want" = "$got" ] || fail "the checksum of $asset ($got) is not the release's ($want); not installed"
      local exe=tenantc
      case "$asset" in *.exe) exe=tenantc.exe ;; esac
      mv "$dir/$asset" "$dir/bin/$exe"
      chmod +x "$dir/bin/$exe"
      add_path "$dir/bin"
      note "installed tenantc $version ($asset, sha256 $got)"
      tenantc --version
      return
    fi
    note "no release asset $asset for $version at $url; building from the action's checkout"
  else
    note "no release matches version '${INPUT_VERSION:-${ACTION_REF:-}}' on $(uname -s)/$(uname -m); building from the action's checkout"
  fi
  command -v cargo >/dev/null || fail "cargo is needed to build tenantc when no release matches"
  cargo install --locked --quiet --path "$ACTION_PATH" --root "$dir/cargo"
  add_path "$dir/cargo/bin"
  tenantc --version
}

summary() { printf '%s\n' "$*" >> "${GITHUB_STEP_SUMMARY:-/dev/null}"; }

check() {
  local status=0 templates=()
  # --templates when the input names a directory, or when the repository has templates/.
  if [ -n "$TEMPLATES" ]; then
    templates=(--templates "$TEMPLATES")
  elif [ -d templates ]; then
    templates=(--templates templates)
  fi
  # (bash 3.2 on macOS: an empty array under `set -u` needs the ${a[@]+...} form.)
  if tenantc --message-format github compile --check --config "$CONFIG" --output "$OUTPUT" ${templates[@]+"${templates[@]}"}; then
    summary "- :white_check_mark: \`$OUTPUT\` is what \`$CONFIG\` compiles to"
  else
    status=1
    summary "- :x: \`$OUTPUT\` is not what \`$CONFIG\` compiles to (or \`$CONFIG\` is invalid): see the annotations; run \`tenantc compile\`"
  fi
  if tenantc --message-format github verify --config "$CONFIG" --output "$OUTPUT"; then
    summary "- :white_check_mark: \`$OUTPUT\` isolates the tenants as \`$CONFIG\` says"
  else
    status=1
    summary "- :x: \`tenantc verify\` found violations in \`$OUTPUT\`: see the annotations"
  fi
  echo "check=$([ "$status" = 0 ] && echo ok || echo failed)" >> "${GITHUB_OUTPUT:-/dev/null}"
  return "$status"
}

# The pull request's base tenants.toml: from origin/BASE, fetched if the checkout is shallow.
base_config() {
  local base=$1 out=$2
  if ! git rev-parse --verify --quiet "origin/$base" >/dev/null; then
    git fetch --quiet --depth=1 origin "$base:refs/remotes/origin/$base" || true
  fi
  # A tenants file the base does not have yet: everything in the pull request is new.
  git show "origin/$base:$CONFIG" > "$out" 2>/dev/null || printf 'version = 1\n' > "$out"
}

comment() {
  local body=$1 pr=$2 repo=${GITHUB_REPOSITORY:?}
  local existing
  existing=$(gh api --paginate "repos/$repo/issues/$pr/comments" \
    --jq ".[] | select(.body | contains(\"$MARKER\")) | .id" | head -n 1)
  if [ -n "$existing" ]; then
    gh api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$body" > /dev/null
    note "updated comment $existing"
  else
    gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body" > /dev/null
    note "created a comment on #$pr"
  fi
}

pr_diff() {
  local base=${GITHUB_BASE_REF:-}
  if [ -z "$base" ]; then
    note "not a pull request: no base to compare with"
    return 0
  fi
  local dir="${RUNNER_TEMP:-/tmp}/tenantc-action"
  mkdir -p "$dir"
  base_config "$base" "$dir/base-tenants.toml"
  local status=0
  tenantc diff --base "$dir/base-tenants.toml" --config "$CONFIG" --output "$OUTPUT" --format markdown \
    > "$dir/diff.md" || status=$?
  if [ "$status" -ge 2 ]; then
    fail "tenantc diff could not compare with $base (exit $status)"
  fi
  { echo "$MARKER"; echo "_\`$CONFIG\` compared with the base branch \`$base\`_"; echo; cat "$dir/diff.md"; } > "$dir/comment.md"
  summary ""
  cat "$dir/comment.md" >> "${GITHUB_STEP_SUMMARY:-/dev/null}"
  echo "diff=$dir/diff.md" >> "${GITHUB_OUTPUT:-/dev/null}"
  if [ "${INPUT_COMMENT:-false}" = true ]; then
    # A fork's pull request gets a read-only token: the comment is skipped, not the check failed.
    comment "$dir/comment.md" "${PR_NUMBER:?PR_NUMBER is needed to comment}" \
      || echo "::warning title=tenantc action::could not write the pull-request comment (a fork's read-only token?)"
  fi
  if [ "$status" -ne 0 ]; then
    # Exit 1: a namespace would be deleted unacknowledged; the log says how to acknowledge it.
    tenantc diff --base "$dir/base-tenants.toml" --config "$CONFIG" --output "$OUTPUT" > /dev/null || true
    return "$status"
  fi
}

case "${1:-}" in
  install) install_tenantc ;;
  check) check ;;
  diff) pr_diff ;;
  asset)
    t=$(target_of "${2:?OS}" "${3:?ARCH}") || exit 1
    asset_of "$t"
    ;;
  *)
    note "usage: run.sh install|check|diff|asset OS ARCH"
    exit 2
    ;;
esac
