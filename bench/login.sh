#!/usr/bin/env bash
# Login timing: does the answer's time tell whether an email exists? Times
# 40 logins with unknown emails and 40 with a wrong password for existing
# accounts (standard argon2id cost, release build), interleaved, each from
# its own loopback address so the login throttle stays out of the way.
# Writes the medians and their ratio to bench/results.md ("login").
#
#   bash bench/login.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

start_server 18431
for i in $(seq 40); do
    api -X POST "$URL/v1/orgs/default/users" \
        -d "{\"email\":\"user$i@example.com\",\"password\":\"correct horse battery $i\",\"role\":\"member\"}" >/dev/null
done

python3 - "$URL" > "$DATA/login.md" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse

url = urllib.parse.urlparse(sys.argv[1])

def login(email, source):
    conn = http.client.HTTPConnection(url.hostname, url.port, source_address=(source, 0))
    body = json.dumps({"email": email, "password": "wrong password!!"})
    start = time.perf_counter()
    conn.request("POST", "/v1/login", body, {"content-type": "application/json"})
    status = conn.getresponse().status
    took = (time.perf_counter() - start) * 1000
    conn.close()
    assert status == 401, status
    return took

unknown, wrong = [], []
for i in range(1, 41):
    source = f"127.0.{i // 200}.{i % 200 + 2}"
    unknown.append(login(f"nobody{i}@example.com", source))
    wrong.append(login(f"user{i}@example.com", source))
u, w = statistics.median(unknown), statistics.median(wrong)
print("Login timing (40 each, interleaved, standard argon2id cost, release build):\n")
print("| login | median ms | p10 ms | p90 ms |")
print("|---|---|---|---|")
for name, xs in (("unknown email", unknown), ("wrong password", wrong)):
    q = statistics.quantiles(xs, n=10)
    print(f"| {name} | {statistics.median(xs):.1f} | {q[0]:.1f} | {q[-1]:.1f} |")
print(f"\nunknown / wrong = {u / w:.2f} (1.00: the time says nothing about whether the email exists).")
PY
cat "$DATA/login.md"
results_section login "$DATA/login.md"
