#!/usr/bin/env bash
# Fetches the three JavaScript libraries bertviz's head and model views need (require.js, d3, jQuery)
# from the npm registry into vendor/ (git-ignored), so that ui/bertviz_view.py can inline them into
# the HTML it renders: no CDN is ever contacted by the browser (offline classrooms, firewalls).
# It then copies them into static/bertviz/ (git-ignored), which Streamlit serves at
# app/static/bertviz/ (server.enableStaticServing): the page's bertviz iframes load them from there,
# cached by the browser, instead of receiving them inlined at every redraw. (A copy, not a link:
# Streamlit refuses a static file whose real path is outside static/.)
#
# bertviz 1.4.1 asks cdnjs for require.js 2.3.6, d3 5.7.0 and jQuery 2.0.0; jQuery 2.0.0 was never
# published on npm, so 2.1.0 (same 2.x API) stands in.
#
# Idempotent: a library whose file is already in vendor/ is skipped, a copy already equal is kept.
# Usage: scripts/vendor_js.sh [DIR [STATIC_DIR]] (STATIC_DIR: default static/bertviz when DIR is
# the default vendor/, else none: a DIR elsewhere, as the tests pass, is not copied into the app).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/vendor}"
if [[ $# -ge 2 ]]; then
  STATIC="$2"
elif [[ "$(cd "$(dirname "$DEST")" 2>/dev/null && pwd)/$(basename "$DEST")" == "$ROOT/vendor" ]]; then
  STATIC="$ROOT/static/bertviz"
else
  STATIC=""
fi

# The app's served copies (see above): replaced only when they differ, keeping vendor/'s dates.
publish() {
  [[ -n "$STATIC" ]] || return 0
  mkdir -p "$STATIC"
  for entry in "${LIBS[@]}"; do
    read -r _spec _inner name <<<"$entry"
    cmp -s "$DEST/$name" "$STATIC/$name" || cp -p "$DEST/$name" "$STATIC/$name"
  done
  echo "vendor: served copies in $STATIC"
}

# package@version  file-inside-the-tarball  name-in-vendor
LIBS=(
  "requirejs@2.3.6 package/require.js require.js"
  "d3@5.7.0 package/dist/d3.min.js d3.min.js"
  "jquery@2.1.0 package/dist/jquery.min.js jquery.min.js"
)

missing=()
for entry in "${LIBS[@]}"; do
  read -r spec _inner name <<<"$entry"
  [[ -s "$DEST/$name" ]] || missing+=("$entry")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "vendor: require.js, d3.min.js, jquery.min.js already in $DEST"
  publish
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "vendor: error: npm is not installed, so the bertviz views' JavaScript cannot be fetched." >&2
  echo "        Install Node.js/npm (Debian: apt-get install -y npm), then run: make vendor" >&2
  echo "        (The app still runs; the bertviz views show a notice instead.)" >&2
  exit 1
fi

mkdir -p "$DEST"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for entry in "${missing[@]}"; do
  read -r spec inner name <<<"$entry"
  echo "vendor: npm pack $spec"
  tarball="$(cd "$tmp" && npm pack --silent "$spec" | tail -n 1)"
  if [[ ! -s "$tmp/$tarball" ]]; then
    echo "vendor: error: npm pack $spec produced no tarball" >&2
    exit 1
  fi
  tar -xzf "$tmp/$tarball" -C "$tmp" "$inner"
  mv "$tmp/$inner" "$DEST/$name.part" && mv "$DEST/$name.part" "$DEST/$name"
  rm -rf "$tmp/package" "$tmp/$tarball"
done
echo "vendor: done ($DEST)"
publish
