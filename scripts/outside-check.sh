#!/usr/bin/env bash
# The outside-the-repository check (issue 16): build every published package, `pnpm pack` each
# one, install the tarballs with npm into a fresh project in a temporary directory outside the
# repository, and there:
#   - run a plain .mjs (a supervision tree, two nodes and a gen_server call) with node;
#   - compile a .ts with tsc 5.9 (strict, NodeNext, exactOptionalPropertyTypes,
#     noPropertyAccessFromIndexSignature, no skipLibCheck) and run its output;
#   - run `npx rigil --help`, `rigil start` with a JavaScript application module (no tsx), and
#     with a TypeScript one (ERR_TSX_MISSING, exit 2);
#   - build toliman as the guide docs/guides/distributed-handover.md tells a user to, in another
#     fresh project, and run it (scripts/outside-guide.sh: three nodes, failover, takeover with
#     the state handed over);
#   - run the .mjs under Node 22 too, fetched from the npm registry (`npx node@22`), when the
#     registry serves it (RIGIL_SKIP_NODE22=1 skips it).
# Packed manifests are checked too: no `workspace:` versions, no `source` condition, no src/.
# Keeps the temporary directory when RIGIL_KEEP_OUTSIDE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PNPM_VERSION=${PNPM_VERSION:-9.15.9}
pnpm() { npx -y "pnpm@${PNPM_VERSION}" "$@"; }
TS_VERSION=$(node -p "require('./package.json').devDependencies.typescript")
NODE_TYPES_VERSION=$(node -p "require('./package.json').devDependencies['@types/node']")
PACKAGES=(core net dist-ac testing cli)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rigil-outside.XXXXXX")
cleanup() {
  if [[ -n "${RIGIL_KEEP_OUTSIDE:-}" ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
fail() { echo "outside-check: FAILED: $*" >&2; exit 1; }
t0=$SECONDS

echo "== outside: build"
rm -rf packages/*/build
pnpm run build

echo "== outside: pack"
mkdir -p "$TMP/tarballs"
for p in "${PACKAGES[@]}"; do
  (cd "packages/$p" && pnpm pack --pack-destination "$TMP/tarballs" >/dev/null)
done
for t in "$TMP"/tarballs/*.tgz; do
  manifest=$(tar -xOzf "$t" package/package.json)
  if grep -q 'workspace:' <<<"$manifest"; then fail "$(basename "$t"): package.json keeps a workspace: version"; fi
  if grep -q '"source"' <<<"$manifest"; then fail "$(basename "$t"): package.json keeps the source condition"; fi
  listing=$(tar -tzf "$t")
  if grep -qE '^package/(src|test)/' <<<"$listing"; then fail "$(basename "$t"): ships src/ or test/"; fi
  grep -q '^package/build/index.d.ts$' <<<"$listing" || fail "$(basename "$t"): no build/index.d.ts"
  grep -q '^package/build/index.js.map$' <<<"$listing" || fail "$(basename "$t"): no source map"
  if grep -q 'tsbuildinfo' <<<"$listing"; then fail "$(basename "$t"): ships a tsbuildinfo"; fi
  # `rigil observe` serves its page from static/observe/ (build/observe/server.js finds it at ../../static).
  if [[ $(basename "$t") == rigil-[0-9]* ]]; then
    for f in index.html app.js style.css; do grep -q "^package/static/observe/$f$" <<<"$listing" || fail "$(basename "$t"): no static/observe/$f"; done
  fi
done
ls -1 "$TMP/tarballs"

echo "== outside: install with npm into $TMP/project"
mkdir -p "$TMP/project"
cp scripts/outside/check.mjs scripts/outside/check.ts scripts/outside/tsconfig.json scripts/outside/app.mjs scripts/outside/app.ts "$TMP/project/"
cd "$TMP/project"
printf '{ "name": "outside-check", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --prefer-offline --loglevel=error "$TMP"/tarballs/*.tgz
npm install --no-audit --no-fund --prefer-offline --loglevel=error --save-dev "typescript@${TS_VERSION}" "@types/node@${NODE_TYPES_VERSION}"
[[ ! -e node_modules/tsx ]] || fail "tsx got installed: it must stay an optional peer of rigil"

echo "== outside: node check.mjs ($(node --version))"
node check.mjs

echo "== outside: tsc check.ts"
npx tsc -p tsconfig.json
node out/check.js

echo "== outside: npx rigil --help"
npx rigil --help | grep -q '^Usage:' || fail "rigil --help printed no usage"

echo "== outside: rigil start (a JavaScript application module, no tsx)"
cfg() { printf '{ "node": { "name": "%s@127.0.0.1", "port": 0, "cookie": "outside-check-cookie-0123456789" }, "applications": [{ "module": "%s", "export": "app", "start": true }] }\n' "$1" "$2" > "$1.json"; }
cfg js ./app.mjs
node_modules/.bin/rigil start js.json > js.out 2> js.err &
pid=$!
for _ in $(seq 1 300); do grep -q '"event":"ready"' js.out && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
grep -q '"event":"ready"' js.out || { cat js.err >&2; fail "rigil start with app.mjs did not get ready"; }
kill -TERM "$pid"
wait "$pid" || fail "rigil start with app.mjs exited $? after SIGTERM"

echo "== outside: rigil start (a TypeScript application module, no tsx: ERR_TSX_MISSING)"
cfg ts ./app.ts
set +e
node_modules/.bin/rigil start ts.json > ts.out 2> ts.err
code=$?
set -e
[[ $code -eq 2 ]] || { cat ts.err >&2; fail "rigil start with app.ts exited $code, not 2"; }
grep -q 'ERR_TSX_MISSING' ts.err && grep -q 'npm i -D tsx' ts.err || { cat ts.err >&2; fail "no ERR_TSX_MISSING naming npm i -D tsx"; }

echo "== outside: the guide 'a distributed application with state handover', followed in a fresh project"
(cd "$ROOT" && bash scripts/outside-guide.sh "$TMP/tarballs" "$TMP/guide")

if [[ -z "${RIGIL_SKIP_NODE22:-}" ]]; then
  echo "== outside: node 22 check.mjs"
  if npx -y --prefer-offline node@22 --version > node22.version 2> node22.err; then
    npx -y --prefer-offline node@22 check.mjs
  else
    cat node22.err >&2
    fail "could not fetch node@22 from the npm registry (RIGIL_SKIP_NODE22=1 skips this step)"
  fi
fi
echo "== outside: ok in $((SECONDS - t0)) s"
