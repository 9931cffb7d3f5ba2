#!/usr/bin/env bash
# Worst-case load against the release binary with its default flags, on
# loopback: a hostile client (from 127.0.0.2) keeps CONCURRENCY (64)
# worst-case dispatches of SIZE bytes (1 MiB, the default --max-text-bytes)
# in flight for SECONDS, while a normal client (127.0.0.1) sends one
# ordinary Classify at a time with a 1 s deadline. Prints the server's idle,
# peak and after-run RSS, the normal client's latencies and errors, and the
# hostile client's outcome. Passes when the normal client lost no call and
# the peak RSS stays under BOUND_MB.
#
#   bench/hostile.sh [SECONDS]     (default 30)
#
# Env: CONCURRENCY (64), SIZE (1048576), MODE (classify | summarize, what
# the hostile client calls), BOUND_MB (the README's bound), SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
conc=${CONCURRENCY:-64}
size=${SIZE:-1048576}
mode=${MODE:-classify}
bound=${BOUND_MB:-512}
shared=${SHARED:-../shared}
normal_data=$shared/data/corpora/masakhanews-fr-dev.jsonl.gz
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
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$server_pid/status"; }

cargo build --release --locked --bin dispatch-tagger --example loadgen >&2
# Worst case for the pipeline: every byte in words, each sentence naming
# places (the gazetteer scan), nothing the cleaner can drop.
python3 - "$work/worst.jsonl.gz" "$size" "$conc" <<'PY'
import gzip, json, sys
out, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sentence = ("Les ministres de la France, de l'Allemagne et du Mali ont rencontré à Bamako "
            "leurs homologues de Syrie, d'Iran et de Russie pour parler d'élections. ")
text = (sentence * (size // len(sentence) + 1))[:size]
text = text[: len(text.encode()[:size].decode("utf-8", "ignore"))]
with gzip.open(out, "wt") as f:
    for i in range(n):
        f.write(json.dumps({"id": f"w{i}", "title": "", "text": text, "lang": ""}) + "\n")
PY

port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
wait_serving "$bin" "$port" "$server_pid" "$work/server.log"
sleep 1
idle=$(rss_mb)

( while kill -0 "$server_pid" 2>/dev/null; do rss_mb; echo; sleep 0.5; done ) >"$work/rss.txt" &
rss_pid=$!

echo "== hostile: $conc x $((size / 1024)) KiB $mode from 127.0.0.2 for ${secs}s; normal Classify (1 s deadline) from 127.0.0.1" >&2
"$loadgen" --addr "http://127.0.0.1:$port" --from 127.0.0.2 --label hostile --mode "$mode" \
  --concurrency "$conc" --connections 8 --duration "$secs" --data "$work/worst.jsonl.gz" \
  --max-records "$conc" --timeout 60 >"$work/hostile.txt" &
hostile_pid=$!
sleep 2
"$loadgen" --addr "http://127.0.0.1:$port" --from 127.0.0.1 --label normal --mode classify \
  --concurrency 1 --connections 1 --duration "$((secs - 4))" --data "$normal_data" \
  --timeout 1 | tee "$work/normal.txt"
wait "$hostile_pid" || true; hostile_pid=""
cat "$work/hostile.txt"
sleep 5
after=$(rss_mb)
kill "$rss_pid" 2>/dev/null || true; wait "$rss_pid" 2>/dev/null || true; rss_pid=""
peak=$(sort -n "$work/rss.txt" | tail -1)
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""

python3 - "$idle" "$peak" "$after" "$bound" "$work/normal.txt" <<'PY'
import sys
idle, peak, after, bound = map(float, sys.argv[1:5])
fields = dict(kv.split("=", 1) for kv in open(sys.argv[5]).read().split() if "=" in kv)
errors = fields.get("errors", "?")
print(f"RSS MB: idle {idle:.1f}, peak {peak:.1f}, 5 s after {after:.1f} (bound {bound:.0f})")
print(f"normal Classify: p50 {fields.get('p50_ms')} ms, p99 {fields.get('p99_ms')} ms, max {fields.get('max_ms')} ms, errors {errors}")
good = errors == "none" and peak < bound
print("hostile:", "PASS" if good else "FAIL")
sys.exit(0 if good else 1)
PY
