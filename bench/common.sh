# Shared by the bench scripts (source it): a release `hush serve` on SQLite
# in a temp directory (or on DATABASE_URL), with project "bench",
# environment "production" and secrets of 64 bytes. Sets URL, ADMIN, DATA
# and api(); stops the server and removes DATA on exit. Rate limits and the
# per-address connection cap are off (wrk connects from one address).
#
#   start_server PORT [extra serve flags…]
#   seed_fifty_secrets            # or: seed_secrets N [PREFIX]
#   pull_token '{"name":"bench","kind":"pull","project":"bench"}'
#   stop_server
#   results_section NAME FILE     # replaces NAME's section of bench/results.md
#   start_openbao BAO PORT        # OpenBao on raft with a file audit device and
#                                 # KV v2 at secret/; sets BAO_ADDR, BAO_TOKEN

cargo build --release -q -p hush-cli
DATA="$(mktemp -d)"
PID=""
cleanup() {
    [ -z "$PID" ] || { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    [ -z "${BENCH_CLEANUP:-}" ] || eval "$BENCH_CLEANUP"
    rm -rf "$DATA"
}
trap cleanup EXIT

start_server() {
    local port="$1"; shift
    ./target/release/hush serve --listen "127.0.0.1:$port" --data-dir "${SERVER_DIR:-$DATA/server}" --log warn \
        --rate-limit-token 0 --rate-limit-ip 0 --max-connections-per-ip 100000 "$@" >> "$DATA/stdout" 2>> "$DATA/stderr" &
    PID=$!
    URL="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -sf "$URL/health" >/dev/null && break; sleep 0.1; done
    local token
    token="$(grep -o 'hush_[A-Za-z0-9_-]*' "$DATA/stdout" | tail -1 || true)"
    ADMIN="${token:-${ADMIN:-}}"
}

stop_server() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}

# seed_secrets N [PREFIX]: project bench, environment production, N secrets.
seed_secrets() {
    api -X POST "$URL/v1/orgs/default/projects" -d '{"slug":"bench"}' >/dev/null
    api -X POST "$URL/v1/orgs/default/projects/bench/environments" -d '{"slug":"production"}' >/dev/null
    python3 -c "import json; print(json.dumps({'set': [{'name': f'${2:-SECRET_}{i:03}', 'value': 'v' * 64} for i in range($1)]}))" |
        api -X POST "$URL/v1/orgs/default/projects/bench/secrets?env=production" --data-binary @- >/dev/null
}

# results_section NAME FILE: puts FILE's text into bench/results.md between
# <!-- NAME --> markers (appending the section the first time), so each
# script keeps its own figures current without touching the others'.
results_section() {
    python3 - "$1" "$2" bench/results.md <<'PY'
import pathlib, sys
name, body, out = sys.argv[1], pathlib.Path(sys.argv[2]).read_text(), pathlib.Path(sys.argv[3])
start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
text = out.read_text() if out.exists() else "# hush benchmarks\n"
block = f"{start}\n{body.strip()}\n{end}"
if start in text and end in text:
    text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip() + "\n\n" + block + "\n"
out.write_text(text)
PY
}

api() { curl -sf -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' "$@"; }

seed_fifty_secrets() {
    seed_secrets 50
}

# Prints a new token made from the JSON body $1.
pull_token() {
    api -X POST "$URL/v1/orgs/default/tokens" -d "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# start_openbao BAO PORT: an OpenBao server (the `bao` binary BAO) on raft
# storage in DATA with a declared file audit device, initialized, unsealed,
# KV v2 mounted at secret/. Exports BAO_ADDR and BAO_TOKEN. The caller's
# BENCH_CLEANUP stops it.
start_openbao() {
    local bao="$1" port="$2"
    cat > "$DATA/bao.hcl" <<HCL
storage "raft" {
  path    = "$DATA/bao-raft"
  node_id = "bench"
}
listener "tcp" {
  address     = "127.0.0.1:$port"
  tls_disable = true
}
api_addr      = "http://127.0.0.1:$port"
cluster_addr  = "http://127.0.0.1:$((port + 1))"
disable_mlock = true
audit "file" "file" {
  options {
    file_path = "$DATA/bao-audit.log"
  }
}
HCL
    mkdir -p "$DATA/bao-raft"
    "$bao" server -config="$DATA/bao.hcl" > "$DATA/bao.log" 2>&1 &
    export BAO_ADDR="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -s "$BAO_ADDR/v1/sys/health" >/dev/null && break; sleep 0.1; done
    "$bao" operator init -key-shares=1 -key-threshold=1 -format=json > "$DATA/bao-init.json"
    "$bao" operator unseal "$(python3 -c "import json; print(json.load(open('$DATA/bao-init.json'))['unseal_keys_b64'][0])")" >/dev/null
    BAO_TOKEN="$(python3 -c "import json; print(json.load(open('$DATA/bao-init.json'))['root_token'])")"
    export BAO_TOKEN
    for _ in $(seq 100); do "$bao" secrets enable -path=secret kv-v2 >/dev/null 2>&1 && break; sleep 0.2; done
}
