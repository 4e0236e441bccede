#!/usr/bin/env bash
# The toliman-from-the-docs check (issue 16): a user who follows only the guide
# docs/guides/distributed-handover.md builds toliman in a fresh project. In a new directory
# outside the repository this does what the guide says — `npm init -y`, `npm pkg set
# type=module`, `npm i @rigil/core @rigil/net @rigil/dist-ac rigil` (here: their packed
# tarballs), `npm i -D typescript tsx @types/node` — writes the guide's files from the guide's
# own code blocks (`node scripts/guides.mjs extract`), then runs `npx tsc` and
# `npx tsx failover.ts` (three `rigil start` nodes on free ports; kill -9 of proxima's node,
# failover, restart, takeover with the state handed over; every node stopped at the end).
#
# Usage: scripts/outside-guide.sh <dir with the packed .tgz> <work dir>   (outside-check.sh
# calls it after packing; run it alone to iterate on it with tarballs kept from a run with
# RIGIL_KEEP_OUTSIDE=1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARBALLS=$(cd "$1" && pwd)
WORK=$2
TS_VERSION=$(node -p "require('./package.json').devDependencies.typescript")
TSX_VERSION=$(node -p "require('./package.json').devDependencies.tsx")
NODE_TYPES_VERSION=$(node -p "require('./package.json').devDependencies['@types/node']")
fail() { echo "outside-guide: FAILED: $*" >&2; exit 1; }
tarball() { ls "$TARBALLS"/"$1"-[0-9]*.tgz 2>/dev/null | head -1 || true; }

mkdir -p "$WORK/toliman"
node scripts/guides.mjs extract docs/guides/distributed-handover.md "$WORK/toliman"
cd "$WORK/toliman"
npm init -y > /dev/null
npm pkg set type=module
deps=()
for p in rigil-core rigil-net rigil-dist-ac rigil; do
  t=$(tarball "$p")
  [[ -n "$t" ]] || fail "no tarball $p-*.tgz in $TARBALLS"
  deps+=("$t")
done
# Unset: the repository's scripts run rigil from its sources (--conditions=source); a user's
# project has no such condition.
unset NODE_OPTIONS
npm install --no-audit --no-fund --prefer-offline --loglevel=error "${deps[@]}"
npm install --no-audit --no-fund --prefer-offline --loglevel=error --save-dev "typescript@${TS_VERSION}" "tsx@${TSX_VERSION}" "@types/node@${NODE_TYPES_VERSION}"
[[ ! -e node_modules/@rigil/testing ]] || fail "@rigil/testing got installed: the guide does not ask for it"

echo "== outside-guide: npx tsc (the guide's tsconfig.json)"
npx tsc
echo "== outside-guide: npx tsx failover.ts"
npx tsx failover.ts || fail "the guide's failover.ts failed in a fresh project"
echo "== outside-guide: ok"
