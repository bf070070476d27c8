#!/usr/bin/env bash
# Load benchmark: a release `hush serve` on SQLite, one project with a
# 50-secret environment, and wrk pulling it with a pull token
# (GET /api/v1/secrets/pull), next to GET /health in the same run.
# Every pull is audited (durable group commit) as in production; rate
# limits are off (one token sending thousands of requests per second is the
# point of the exercise).
#
#   bash bench/load.sh            # figures to stdout and bench/results.md
#   DURATION=30s CONNECTIONS=64 bash bench/load.sh
#
# Needs wrk (apt-get install wrk), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
PORT="${PORT:-18431}"
OUT="${OUT:-bench/results.md}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
. bench/common.sh
start_server "$PORT"
seed_fifty_secrets
PULL="$(pull_token '{"name":"bench","kind":"pull","project":"bench"}')"
COUNT="$(curl -sf -H "Authorization: Bearer $PULL" "$URL/api/v1/secrets/pull?env=production" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["secrets"]))')"
[ "$COUNT" = 50 ] || { echo "expected 50 secrets, got $COUNT" >&2; exit 1; }

run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@"; }
echo "== GET /health" >&2
HEALTH="$(run "$URL/health")"
echo "== GET /api/v1/secrets/pull (50 secrets, audited)" >&2
PULLOUT="$(run -H "Authorization: Bearer $PULL" "$URL/api/v1/secrets/pull?env=production")"
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p50() { awk '$1=="50%" {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
errors() { awk '/Non-2xx|Socket errors/ {print}' <<<"$1"; }
H="$(rps "$HEALTH")"; P="$(rps "$PULLOUT")"
RATIO="$(python3 -c "print(f'{$P / $H:.2f}')")"
AUDITED="$(api "$URL/v1/orgs/default/audit?action=secret.pull&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["seq"])')"
{
  echo "# hush load benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine, SQLite (synchronous=FULL), release build, rate limits off."
  echo
  echo "| endpoint | req/s | p50 | p99 |"
  echo "|---|---|---|---|"
  echo "| GET /health | $H | $(p50 "$HEALTH") | $(p99 "$HEALTH") |"
  echo "| GET /api/v1/secrets/pull (50 secrets, audited) | $P | $(p50 "$PULLOUT") | $(p99 "$PULLOUT") |"
  echo
  echo "pull / health = $RATIO. Audit log entries written during the run: last seq $AUDITED."
  E="$(errors "$PULLOUT")"; [ -z "$E" ] || { echo; echo "errors: $E"; }
} | tee "$OUT"
