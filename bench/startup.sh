#!/usr/bin/env bash
# Start-up cost of `hush run` and of the Node and Python client libraries:
# a release `hush serve` on SQLite with a 50-secret environment, then
# hyperfine timing `hush run -- true` (pull token, merged environment pulled
# over HTTP, audited, cache refreshed, exec) against plain `true`, and
# `config()` in Node and Python (process start to secrets in the
# environment) against the bare interpreter, in the same run.
#
#   bash bench/startup.sh          # figures to stdout and bench/startup.md
#
# Needs hyperfine (apt-get install hyperfine), curl, python3, node, and
# target/pyclient-venv (python3 -m venv target/pyclient-venv &&
# target/pyclient-venv/bin/pip install cryptography).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-18432}"
RUNS="${RUNS:-200}"
OUT="${OUT:-bench/startup.md}"

command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1; }
. bench/common.sh
start_server "$PORT"
seed_fifty_secrets
PULL="$(pull_token '{"name":"bench","kind":"pull","project":"bench","environment":"production"}')"

export HUSH_URL="$URL" HUSH_TOKEN="$PULL" HUSH_CACHE_DIR="$DATA/cache" HUSH_CONFIG_DIR="$DATA/config"
COUNT="$(./target/release/hush run -- sh -c 'env | grep -c ^SECRET_')"
[ "$COUNT" = 50 ] || { echo "expected 50 secrets in the child, got $COUNT" >&2; exit 1; }

PY=target/pyclient-venv/bin/python
export PYTHONPATH="$PWD/clients/python" HUSH_SECRETS_CACHE_DIR="$DATA/client-cache"
PY_CONFIG="from hush_secrets import config; assert len(config()) == 50"
NODE_CONFIG="require('./clients/node').config().then((s) => { if (Object.keys(s).length !== 50) process.exit(1); })"
"$PY" -c "$PY_CONFIG"
node -e "$NODE_CONFIG"

hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$DATA/hf.json" \
    'true' './target/release/hush run -- true' \
    "$PY -c pass" "$PY -c '$PY_CONFIG'" \
    "node -e 0" "node -e \"$NODE_CONFIG\""
read -r BASE HUSH PYBASE PYCONF NODEBASE NODECONF <<<"$(python3 -c "
import json,sys
r = json.load(open('$DATA/hf.json'))['results']
print(*(f\"{x['median']*1000:.2f}\" for x in r))")"
ADDED="$(python3 -c "print(f'{$HUSH - $BASE:.2f}')")"
PYADDED="$(python3 -c "print(f'{$PYCONF - $PYBASE:.2f}')")"
NODEADDED="$(python3 -c "print(f'{$NODECONF - $NODEBASE:.2f}')")"
{
  echo "# Start-up cost: hush run and the client libraries"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, hyperfine -N, $RUNS runs, release build, server on the same machine (SQLite, synchronous=FULL, every pull audited)."
  echo
  echo "| command | median |"
  echo "|---|---|"
  echo "| \`true\` | $BASE ms |"
  echo "| \`hush run -- true\` (50 secrets, pull token) | $HUSH ms |"
  echo "| \`python -c pass\` | $PYBASE ms |"
  echo "| Python \`config()\` (hush_secrets, 50 secrets) | $PYCONF ms |"
  echo "| \`node -e 0\` | $NODEBASE ms |"
  echo "| Node \`config()\` (hush-secrets, 50 secrets) | $NODECONF ms |"
  echo
  echo "Added at the median: \`hush run\` **$ADDED ms** (target ≤ 20 ms); Python \`config()\` **$PYADDED ms** over the bare interpreter; Node \`config()\` **$NODEADDED ms**."
} | tee "$OUT"
