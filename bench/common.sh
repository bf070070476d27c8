# Shared by the bench scripts (source it): a release `hush serve` on SQLite
# in a temp directory, with project "bench", environment "production" and
# 50 secrets of 64 bytes. Sets URL, ADMIN, DATA and api(); stops the server
# and removes DATA on exit. Rate limits are off.
#
#   start_server PORT
#   seed_fifty_secrets
#   pull_token '{"name":"bench","kind":"pull","project":"bench"}'

cargo build --release -q -p hush-cli
DATA="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT

start_server() {
    ./target/release/hush serve --listen "127.0.0.1:$1" --data-dir "$DATA/server" --log warn \
        --rate-limit-token 0 --rate-limit-ip 0 > "$DATA/stdout" 2> "$DATA/stderr" &
    PID=$!
    URL="http://127.0.0.1:$1"
    for _ in $(seq 100); do curl -sf "$URL/health" >/dev/null && break; sleep 0.1; done
    ADMIN="$(grep -o 'hush_[A-Za-z0-9_-]*' "$DATA/stdout" | head -1)"
}

api() { curl -sf -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' "$@"; }

seed_fifty_secrets() {
    api -X POST "$URL/v1/orgs/default/projects" -d '{"slug":"bench"}' >/dev/null
    api -X POST "$URL/v1/orgs/default/projects/bench/environments" -d '{"slug":"production"}' >/dev/null
    local body
    body="$(python3 -c 'import json; print(json.dumps({"set": [{"name": f"SECRET_{i:02}", "value": "v" * 64} for i in range(50)]}))')"
    api -X POST "$URL/v1/orgs/default/projects/bench/secrets?env=production" -d "$body" >/dev/null
}

# Prints a new token made from the JSON body $1.
pull_token() {
    api -X POST "$URL/v1/orgs/default/tokens" -d "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
