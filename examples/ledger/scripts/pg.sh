#!/usr/bin/env bash
# A throwaway PostgreSQL server for the ledger example and its test.
#
#   scripts/pg.sh start     install PostgreSQL from Debian's packages if its binaries are missing,
#                           create a cluster in $LEDGER_PG_DIR (default: $TMPDIR/rigil-ledger-pg),
#                           start it on a free TCP port of 127.0.0.1, create the database `ledger`,
#                           and print its URL (postgresql://postgres:<password>@127.0.0.1:<port>/ledger)
#                           as the last line of stdout. Idempotent: a server already running there
#                           is reused and its URL printed again.
#   scripts/pg.sh env       prints `export LEDGER_PG_URL=…` for a running server: eval "$(scripts/pg.sh env)"
#   scripts/pg.sh url       prints the URL of the running server
#   scripts/pg.sh stop      stops the server (the cluster stays on disk; `start` starts it again)
#   scripts/pg.sh destroy   stops the server and removes $LEDGER_PG_DIR
#
# initdb runs with --no-sync (a throwaway cluster need not survive a power cut while it is
# created); the server itself keeps fsync on: an acknowledged append is on disk.
# The server listens on 127.0.0.1 only (no Unix socket), password authentication (scram) for the
# superuser `postgres` with a random password kept in $LEDGER_PG_DIR/url (mode 600).
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user (created
# by the Debian package) and every server command runs as that user via runuser.
# Progress goes to stderr; only the URL goes to stdout.
set -euo pipefail

DIR=${LEDGER_PG_DIR:-${TMPDIR:-/tmp}/rigil-ledger-pg}
DATA=$DIR/data
DB=ledger

say() { echo "pg.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin), or nothing.
find_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then echo "$d"; fi
}

ensure_installed() {
  BIN=$(find_bin)
  if [[ -n "$BIN" ]]; then return; fi
  say "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: installing Debian's postgresql"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install PostgreSQL (apt-get install postgresql) and run again"
    sudo=(sudo)
  fi
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  BIN=$(find_bin)
  [[ -n "$BIN" ]] || die "apt-get install postgresql left no binaries under /usr/lib/postgresql/*/bin"
}

# Runs a server command as the cluster's owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url() {
  [[ -f "$DIR/url" ]] || die "no server set up in $DIR (run: $0 start)"
  cat "$DIR/url"
}

# A port nobody listens on, from a random start in 20000–59999 (bash's /dev/tcp: a refused
# connection means free). A race with another program is possible; `start` then retries.
free_port() {
  local p tries
  for tries in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

init_cluster() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  local password
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$DIR/pwfile"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "no postgres user (it comes with Debian's postgresql-common)"
    chown postgres "$DIR" "$DIR/pwfile"
    as_owner test -w "$DIR" || die "the postgres user cannot reach $DIR (a parent directory is closed to it): set LEDGER_PG_DIR to a directory under /tmp"
  fi
  chmod 600 "$DIR/pwfile"
  say "initdb $DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$DIR/pwfile" --auth=scram-sha-256 --no-sync -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 20 "$DIR/initdb.log")"
  rm -f "$DIR/pwfile"
  printf '%s\n' "$password" >"$DIR/password"
  chmod 600 "$DIR/password"
}

start() {
  ensure_installed
  if running; then
    say "already running ($DATA)"
    url
    return
  fi
  [[ -f "$DATA/PG_VERSION" ]] || init_cluster
  local password port attempt
  password=$(cat "$DIR/password")
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    say "starting $("$BIN/postgres" --version) on 127.0.0.1:$port"
    # No Unix socket (its default directory may not exist or be writable here); TCP on loopback only.
    if as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c fsync=on" start >&2; then
      break
    fi
    say "start on port $port failed (attempt $attempt): $(tail -n 5 "$DATA/server.log" 2>/dev/null || true)"
    port=
  done
  [[ -n "$port" ]] || die "the server did not start"
  local url="postgresql://postgres:$password@127.0.0.1:$port/$DB"
  # createdb through the TCP socket with the password (PGPASSWORD keeps it off the command line).
  if ! PGPASSWORD=$password "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    PGPASSWORD=$password "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB"
  fi
  (umask 077 && printf '%s\n' "$url" >"$DIR/url")
  echo "$url"
}

# `stop [fast|immediate]`: immediate skips the shutdown checkpoint (for `destroy`, which deletes it all).
stop() {
  BIN=$(find_bin)
  if [[ -n "$BIN" ]] && running; then
    say "stopping ($DATA)"
    as_owner "$BIN/pg_ctl" -D "$DATA" -m "${1:-fast}" -w -t 60 stop >&2
  fi
}

case "${1:-}" in
  start) start ;;
  url) url ;;
  env) echo "export LEDGER_PG_URL=$(url)" ;;
  stop) stop ;;
  destroy)
    stop immediate
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start|url|env|stop|destroy   (cluster directory: \$LEDGER_PG_DIR, now $DIR)" >&2
    exit 2
    ;;
esac
