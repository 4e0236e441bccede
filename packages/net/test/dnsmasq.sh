#!/usr/bin/env bash
# A real DNS server for @rigil/net's discovery tests (test/dnsmasq.ts drives it).
#
#   test/dnsmasq.sh ensure            install dnsmasq from Debian's packages if its binary is
#                                     missing, and print the binary's path as the last line of stdout
#   test/dnsmasq.sh run PORT HOSTS [DNSMASQ-OPTION…]
#                                     exec dnsmasq in the foreground (--no-daemon: no fork, no pid
#                                     file, no change of user, logs on stderr) answering on
#                                     127.0.0.1:PORT only, from the hosts file HOSTS alone (re-read on
#                                     SIGHUP), with no upstream servers, no /etc/hosts, no config
#                                     file; extra options (e.g. --srv-host=…, --local=/domain/) are
#                                     passed on. The caller owns the process: the pid is dnsmasq's.
#
# Installs Debian's `dnsmasq-base` (the dnsmasq binary alone) rather than `dnsmasq`: the latter
# adds an init script and systemd unit that start a system-wide resolver on port 53 when the
# package is installed, which a test must not leave behind.
# Progress goes to stderr; only the binary's path goes to stdout.
set -euo pipefail

say() { echo "dnsmasq.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

find_bin() {
  local b
  for b in "$(command -v dnsmasq 2>/dev/null || true)" /usr/sbin/dnsmasq /sbin/dnsmasq; do
    if [[ -n "$b" && -x "$b" ]]; then
      echo "$b"
      return
    fi
  done
}

ensure_installed() {
  BIN=$(find_bin)
  if [[ -n "$BIN" ]]; then return; fi
  say "dnsmasq not found: installing Debian's dnsmasq-base"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install dnsmasq (apt-get install dnsmasq-base) and run again"
    sudo=(sudo)
  fi
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dnsmasq-base >&2
  BIN=$(find_bin)
  [[ -n "$BIN" ]] || die "apt-get install dnsmasq-base left no dnsmasq binary"
}

case "${1:-}" in
  ensure)
    ensure_installed
    echo "$BIN"
    ;;
  run)
    [[ $# -ge 3 ]] || die "usage: $0 run PORT HOSTS [DNSMASQ-OPTION…]"
    port=$2
    hosts=$3
    shift 3
    [[ "$port" =~ ^[0-9]+$ ]] || die "bad port $port"
    [[ -f "$hosts" ]] || die "no hosts file $hosts"
    BIN=$(find_bin)
    [[ -n "$BIN" ]] || die "dnsmasq is not installed (run: $0 ensure)"
    exec "$BIN" --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$hosts" \
      --listen-address=127.0.0.1 --bind-interfaces --port="$port" --local-ttl=0 --log-facility=- "$@"
    ;;
  *)
    echo "usage: $0 ensure | run PORT HOSTS [DNSMASQ-OPTION…]" >&2
    exit 2
    ;;
esac
