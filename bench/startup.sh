#!/usr/bin/env bash
# Start-up cost of `hush run`: a release `hush serve` on SQLite with a
# 50-secret environment, then hyperfine timing `hush run -- true` (pull
# token, merged environment pulled over HTTP, audited, cache refreshed,
# exec) against plain `true`, in the same run.
#
#   bash bench/startup.sh          # figures to stdout and bench/startup.md
#
# Needs hyperfine (apt-get install hyperfine), curl and python3.
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

hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$DATA/hf.json" \
    'true' './target/release/hush run -- true'
read -r BASE HUSH <<<"$(python3 -c "
import json,sys
r = json.load(open('$DATA/hf.json'))['results']
print(*(f\"{x['median']*1000:.2f}\" for x in r))")"
ADDED="$(python3 -c "print(f'{$HUSH - $BASE:.2f}')")"
{
  echo "# hush run start-up cost"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, hyperfine -N, $RUNS runs, release build, server on the same machine (SQLite, synchronous=FULL, every pull audited)."
  echo
  echo "| command | median |"
  echo "|---|---|"
  echo "| \`true\` | $BASE ms |"
  echo "| \`hush run -- true\` (50 secrets, pull token) | $HUSH ms |"
  echo
  echo "Added by hush at the median: **$ADDED ms** (target ≤ 20 ms)."
} | tee "$OUT"
