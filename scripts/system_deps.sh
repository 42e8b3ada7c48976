#!/usr/bin/env bash
# System packages the browser tests and the bertviz views need, installed with apt when missing:
#
#   chromium          the real browser the browser tests drive (tests/test_browser.py, playwright)
#   fonts-wqy-zenhei  a Chinese font, so the Chinese interface renders in that browser (not tofu)
#   fonts-noto-color-emoji  the pages' icons (emoji) in that browser's screenshots, not empty boxes
#   npm               fetches the bertviz views' JavaScript (scripts/vendor_js.sh)
#   redis-server      the shared class store of several app servers (ui/classroom), and its tests
#
# Idempotent and quick when everything is there (no apt call at all). Installs only as root on a
# machine with apt-get; otherwise it says what is missing and exits 0: the test suite then skips
# the browser tests (or the bertviz checks) with that reason instead of failing.
set -uo pipefail

need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
if command -v fc-list >/dev/null 2>&1 && [[ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]]; then
  :
else
  need+=(fonts-wqy-zenhei)
fi
if ! command -v fc-list >/dev/null 2>&1 || [[ -z "$(fc-list :charset=1f4dd 2>/dev/null | head -n 1)" ]]; then
  need+=(fonts-noto-color-emoji)
fi
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

if [[ ${#need[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]}; install them (Debian: sudo apt-get install -y ${need[*]})." >&2
  echo "system-deps: until then the tests that need them are skipped." >&2
  exit 0
fi

echo "system-deps: apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
  echo "system-deps: apt-get update failed; the tests that need ${need[*]} will be skipped." >&2
  exit 0
fi
for pkg in "${need[@]}"; do  # one by one: a package that fails does not block the others
  if ! apt-get install -y -qq "$pkg" >/dev/null; then
    echo "system-deps: apt-get install $pkg failed; the tests that need it will be skipped." >&2
  fi
done
exit 0
