#!/usr/bin/env bash
# Dashboard benchmark: what a browser's page costs next to the same data as
# JSON. A release `hush serve` on SQLite, project "bench" with 200 secrets
# in production and a staging environment; a user signed in through the
# dashboard's form. wrk then fetches, with that session cookie, the
# project's matrix page (HTML, askama) and the same matrix from Hep.gg's
# dashboard API (JSON), one after the other in the same run. Both are
# audited reads, as in production.
#
#   bash bench/dashboard.sh       # figures to stdout and bench/results.md
#   DURATION=30s bash bench/dashboard.sh
#
# Needs wrk (apt-get install wrk), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-16}"
PORT="${PORT:-18433}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
. bench/common.sh

run() { wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $COOKIE" "$@"; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$1"; }
p50() { awk '$1=="50%" {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
errors() { awk '/Non-2xx|Socket errors/ {print}' <<<"$1"; }

start_server "$PORT"
seed_secrets 200
api -X POST "$URL/v1/orgs/default/projects/bench/environments" -d '{"slug":"staging"}' >/dev/null
api -X POST "$URL/v1/orgs/default/users" \
    -d '{"email":"bench@example.com","password":"a bench password","role":"admin"}' >/dev/null
COOKIE="$(curl -s -o /dev/null -D - "$URL/dashboard/login" \
    --data-urlencode email=bench@example.com --data-urlencode 'password=a bench password' |
    awk -F'[ ;]' 'tolower($1)=="set-cookie:" {print $2}')"
[ -n "$COOKIE" ] || { echo "the dashboard sign-in gave no cookie" >&2; exit 1; }
ID="$(curl -sf -H "Cookie: $COOKIE" "$URL/api/v1/secrets/projects" |
    python3 -c 'import json,sys; print([p["id"] for p in json.load(sys.stdin)["data"] if p["slug"]=="bench"][0])')"
PAGE_BYTES="$(curl -sf -H "Cookie: $COOKIE" "$URL/dashboard/secrets/bench" | wc -c)"
JSON_BYTES="$(curl -sf -H "Cookie: $COOKIE" "$URL/api/v1/secrets/projects/$ID/secrets" | wc -c)"

HTML="$(run "$URL/dashboard/secrets/bench")"
JSON="$(run "$URL/api/v1/secrets/projects/$ID/secrets")"
for out in "$HTML" "$JSON"; do
    [ -z "$(errors "$out")" ] || { echo "errors during the run: $(errors "$out")" >&2; exit 1; }
done

cat > "$DATA/dashboard.md" <<MD
Dashboard: the matrix of a 200-secret project (2 environments), signed in with
the dashboard's session cookie; wrk, $CONNECTIONS connections, $DURATION each, one run
after the other, release build, SQLite, every request audited:

| request | req/s | p50 | p99 | body bytes |
|---|---|---|---|---|
| \`GET /dashboard/secrets/bench\` (HTML page) | $(rps "$HTML") | $(p50 "$HTML") | $(p99 "$HTML") | $PAGE_BYTES |
| \`GET /api/v1/secrets/projects/{id}/secrets\` (JSON) | $(rps "$JSON") | $(p50 "$JSON") | $(p99 "$JSON") | $JSON_BYTES |

HTML / JSON throughput: $(python3 -c "print(f'{$(rps "$HTML") / $(rps "$JSON"):.2f}')").
MD
cat "$DATA/dashboard.md"
results_section dashboard "$DATA/dashboard.md"
