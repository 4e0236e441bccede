#!/usr/bin/env bash
# Headless Chromium for the observe page's browser test (test/observe_browser.test.ts drives it
# with playwright-core).
#
#   test/chromium.sh ensure    install Debian's `chromium` package if no chromium binary is
#                              found, and print the binary's path as the last line of stdout
#
# `.ci/run` calls it before the tests; the test calls it too (an installed chromium is found at
# once), so the test never skips for want of a browser. Debian's build, not Playwright's
# downloaded one: playwright-core drives any Chromium of a close enough version over CDP, and
# an apt package needs no download from a CDN at test time.
# Progress goes to stderr; only the binary's path goes to stdout.
set -euo pipefail

say() { echo "chromium.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

find_bin() {
  local b
  for b in "${RIGIL_CHROMIUM:-}" "$(command -v chromium 2>/dev/null || true)" "$(command -v chromium-browser 2>/dev/null || true)" /usr/bin/chromium /usr/lib/chromium/chromium; do
    if [[ -n "$b" && -x "$b" ]]; then
      echo "$b"
      return
    fi
  done
}

ensure_installed() {
  BIN=$(find_bin)
  if [[ -n "$BIN" ]]; then return; fi
  say "chromium not found: installing Debian's chromium"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install chromium (apt-get install chromium) and run again"
    sudo=(sudo)
  fi
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >&2
  BIN=$(find_bin)
  [[ -n "$BIN" ]] || die "apt-get install chromium left no chromium binary"
}

case "${1:-}" in
  ensure)
    ensure_installed
    echo "$BIN"
    ;;
  *)
    echo "usage: $0 ensure" >&2
    exit 2
    ;;
esac
