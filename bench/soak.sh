#!/usr/bin/env bash
# Soak: Classify at the highest rate the server sustains (closed loop,
# concurrency below --max-concurrent-calls so nothing is shed) for 60 s on
# loopback, sampling the server's RSS every second. Passes when the run ends
# with zero errors and memory is flat (last 10 s within 10% + 4 MB of the
# first 10 s after warm-up); prints the RSS timeline and the metrics port's
# own count of handled calls.
#
#   bench/soak.sh [SECONDS]      (default 60)
#
# Env: CONCURRENCY (16), CONNECTIONS (4), DATA (masakhanews-fr-dev: French
# and English scraped pages are in the payload mix with bbc-en-dev), SHARED.
# HOSTILE=1 adds a hostile client from 127.0.0.2 for the whole run: 64
# Summarize calls of 1 MiB in flight at once (refusals and deadlines are
# its own; the pass rule counts Classify, the normal clients' calls).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
conc=${CONCURRENCY:-16}
conns=${CONNECTIONS:-4}
shared=${SHARED:-../shared}
data=${DATA:-$shared/data/corpora/masakhanews-fr-dev.jsonl.gz}
bin=${CARGO_TARGET_DIR:-target}/release/dispatch-tagger
loadgen=${CARGO_TARGET_DIR:-target}/release/examples/loadgen
work=$(mktemp -d)
server_pid="" rss_pid="" hostile_pid=""
cleanup() {
  for p in $hostile_pid $rss_pid $server_pid; do kill "$p" 2>/dev/null || true; done
  for p in $hostile_pid $rss_pid $server_pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/common.sh
. bench/common.sh

cargo build --release --locked --bin dispatch-tagger --example loadgen >&2
port=$(free_port) mport=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" >"$work/server.log" 2>&1 &
server_pid=$!
wait_serving "$bin" "$port" "$server_pid" "$work/server.log"

( t=0; while kill -0 "$server_pid" 2>/dev/null; do
    echo "$t $(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null)"
    sleep 1; t=$((t + 1))
  done ) >"$work/rss.txt" &
rss_pid=$!

if [ "${HOSTILE:-0}" = 1 ]; then
  python3 - "$work/worst.jsonl.gz" <<'PY'
import gzip, json, sys
sentence = ("Les ministres de la France, de l'Allemagne et du Mali ont rencontré à Bamako "
            "leurs homologues de Syrie, d'Iran et de Russie pour parler d'élections. ")
text = (sentence * (1048576 // len(sentence.encode())))
with gzip.open(sys.argv[1], "wt") as f:
    for i in range(64):
        f.write(json.dumps({"id": f"w{i}", "title": "", "text": text, "lang": ""}) + "\n")
PY
  echo "== soak: hostile client from 127.0.0.2: 64 x 1 MiB Summarize in flight" >&2
  "$loadgen" --addr "http://127.0.0.1:$port" --from 127.0.0.2 --label hostile --mode summarize \
    --concurrency 64 --connections 8 --duration "$secs" --data "$work/worst.jsonl.gz" \
    --max-records 64 --timeout 60 >"$work/hostile.txt" &
  hostile_pid=$!
fi
echo "== soak: Classify ${secs}s, concurrency $conc over $conns connections, $(basename "$data")" >&2
"$loadgen" --addr "http://127.0.0.1:$port" --label soak --mode classify \
  --concurrency "$conc" --connections "$conns" --duration "$secs" --data "$data" | tee "$work/result.txt"
kill "$rss_pid" 2>/dev/null || true; wait "$rss_pid" 2>/dev/null || true; rss_pid=""
if [ -n "$hostile_pid" ]; then
  wait "$hostile_pid" || true; hostile_pid=""
  cat "$work/hostile.txt"
fi
handled=$(python3 - "$mport" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
ok = err = 0
for line in text.splitlines():
    if line.startswith("grpc_server_handled_total{") and 'grpc_method="Classify"' in line:
        n = int(float(line.rsplit(" ", 1)[1]))
        if 'grpc_code="OK"' in line:
            ok += n
        else:
            err += n
print(f"{ok} {err}")
PY
)
kill -TERM "$server_pid"; wait "$server_pid"; code=$?; server_pid=""

echo
echo "RSS timeline (s: MB):"
awk '{ if ($1 % 5 == 0) printf "  %3d: %6.1f\n", $1, $2/1024 }' "$work/rss.txt"
python3 - "$work/rss.txt" "$work/result.txt" "$handled" "$code" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
rss = [kb / 1024 for _, kb in rows]
result = open(sys.argv[2]).read()
ok, err = map(int, sys.argv[3].split())
exit_code = int(sys.argv[4])
fields = dict(kv.split("=", 1) for kv in result.split() if "=" in kv)
errors = fields.get("errors", "?")
warm = rss[5:15] or rss
tail = rss[-10:]
early, late = sum(warm) / len(warm), sum(tail) / len(tail)
flat = late <= early * 1.10 + 4
print(f"throughput {fields.get('throughput')} req/s, p50 {fields.get('p50_ms')} ms, p99 {fields.get('p99_ms')} ms, client errors {errors}")
print(f"server counted Classify OK {ok}, not OK {err}; server exit code {exit_code}")
print(f"RSS MB: warm-up mean {early:.1f}, last-10s mean {late:.1f}, max {max(rss):.1f}: {'flat' if flat else 'GROWING'}")
good = errors == "none" and err == 0 and flat and exit_code == 0
print("soak:", "PASS" if good else "FAIL")
sys.exit(0 if good else 1)
PY
