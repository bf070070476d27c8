#!/usr/bin/env bash
# Load benchmark: a release `hush serve` on SQLite, one project with a
# 50-secret environment, and wrk pulling it with a pull token
# (GET /api/v1/secrets/pull), next to GET /health in the same run.
# Every pull is audited as in production; rate limits are off (one token
# sending thousands of requests per second is the point of the exercise).
# The pull run is repeated with --audit-pull-interval 60 (pulls summarized
# per token and minute): the database growth per pull of both is the
# audit log's cost.
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

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
. bench/common.sh

run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@"; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$1"; }
p50() { awk '$1=="50%" {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
requests() { awk '/requests in/ {print $1}' <<<"$1"; }
errors() { awk '/Non-2xx|Socket errors/ {print}' <<<"$1"; }
db_bytes() { du -cb "$SERVER_DIR"/hush.db* | tail -1 | cut -f1; }

# pull_run DIR [serve flags…]: seeds, then wrk pulls; sets PULLOUT and
# BYTES (database growth per pull, after the server checkpointed on exit).
pull_run() {
    export SERVER_DIR="$DATA/$1"; shift
    start_server "$PORT" "$@"
    seed_fifty_secrets
    PULL="$(pull_token '{"name":"bench","kind":"pull","project":"bench"}')"
    local count
    count="$(curl -sf -H "Authorization: Bearer $PULL" "$URL/api/v1/secrets/pull?env=production" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["secrets"]))')"
    [ "$count" = 50 ] || { echo "expected 50 secrets, got $count" >&2; exit 1; }
    stop_server
    local before; before="$(db_bytes)"
    start_server "$PORT" "$@"
    PULLOUT="$(run -H "Authorization: Bearer $PULL" "$URL/api/v1/secrets/pull?env=production")"
    stop_server
    BYTES="$(python3 -c "print(round(($(db_bytes) - $before) / $(requests "$PULLOUT")))")"
}

export SERVER_DIR="$DATA/health"
start_server "$PORT"
echo "== GET /health" >&2
HEALTH="$(run "$URL/health")"
stop_server
echo "== GET /api/v1/secrets/pull (50 secrets), every pull audited" >&2
pull_run every
EVERY="$PULLOUT"; EVERY_BYTES="$BYTES"
echo "== the same, pulls summarized per token and minute" >&2
pull_run summary --audit-pull-interval 60
SUMMARY="$PULLOUT"; SUMMARY_BYTES="$BYTES"

H="$(rps "$HEALTH")"; P="$(rps "$EVERY")"; S="$(rps "$SUMMARY")"
{
  echo "## Pulls"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine, SQLite (synchronous=FULL), release build, rate limits off."
  echo
  echo "| endpoint | req/s | p50 | p99 | database growth per request |"
  echo "|---|---|---|---|---|"
  echo "| GET /health | $H | $(p50 "$HEALTH") | $(p99 "$HEALTH") | none (not audited) |"
  echo "| GET /api/v1/secrets/pull (50 secrets), every pull audited before it is answered | $P | $(p50 "$EVERY") | $(p99 "$EVERY") | $EVERY_BYTES bytes |"
  echo "| the same with \`--audit-pull-interval 60\` (one entry per token, environment and client per minute, with a count) | $S | $(p50 "$SUMMARY") | $(p99 "$SUMMARY") | $SUMMARY_BYTES bytes |"
  echo
  echo "pull / health = $(python3 -c "print(f'{$P / $H:.2f}')"); summarized / every = $(python3 -c "print(f'{$S / $P:.2f}')"). At $P pulls/s, auditing every pull grows the database by about $(python3 -c "print(f'{$P * $EVERY_BYTES * 3600 / 1e9:.1f}')") GB an hour; \`hush audit prune\` removes old entries."
  E="$(errors "$EVERY")$(errors "$SUMMARY")"; [ -z "$E" ] || { echo; echo "errors: $E"; }
} > "$DATA/load.md"
cat "$DATA/load.md"
results_section load "$DATA/load.md"
