#!/usr/bin/env bash
# Load benchmark: our server and the Python grpcio peer, same run, loopback.
#
#   bench/load.sh            10 s per run, with the Python peer
#   bench/load.sh --long     60 s per run (the RSS target is for a 60 s run)
#   bench/load.sh --quick    2 s per run, no Python peer (CI-sized)
#   bench/load.sh --pin      server on CPU 0, load generator (and peer) on CPU 1
#
# Env: CONCURRENCY (16), STREAM_CONCURRENCY (8), CONNECTIONS (4), DATA (a
# gzipped JSON Lines file of dispatches; default
# $SHARED/data/corpora/bbc-en-dev.jsonl.gz), SHARED (../shared), BIN (serve this dispatch-tagger binary,
# e.g. one built from another commit, instead of building this checkout's).
# Streams run 8 at a time: what the server lets one client address hold at
# the default --max-concurrent-calls (64: 16 stream slots, half of them per
# address); more are refused with RESOURCE_EXHAUSTED (issue 17's
# protection) and would measure refusals.
# Runs against our server: health (the framework's ceiling), Classify,
# ClassifyStream in batches of 100, Summarize; then Classify against the
# Python peer. Samples our server's VmRSS every 0.2 s and measures process
# start to SERVING by polling `dispatch-tagger healthcheck`. Prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=10 quick=0 pin=0
for a in "$@"; do
  case "$a" in
    --quick) secs=2 quick=1 ;;
    --long) secs=60 ;;
    --pin) pin=1 ;;
    -h|--help) sed -n 2,19p "$0"; exit 0 ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done
conc=${CONCURRENCY:-16}
sconc=${STREAM_CONCURRENCY:-8}
conns=${CONNECTIONS:-4}
shared=${SHARED:-../shared}
data=${DATA:-$shared/data/corpora/bbc-en-dev.jsonl.gz}
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/dispatch-tagger}
loadgen=${CARGO_TARGET_DIR:-target}/release/examples/loadgen
work=$(mktemp -d)
server_pid="" peer_pid="" rss_pid=""

cleanup() {
  for p in $rss_pid $server_pid $peer_pid; do kill "$p" 2>/dev/null || true; done
  for p in $rss_pid $server_pid $peer_pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/common.sh
. bench/common.sh
now_ms() { date +%s%3N; }
server_cpu=() client_cpu=()
if [ "$pin" = 1 ]; then server_cpu=(taskset -c 0); client_cpu=(taskset -c 1); fi

echo "== build (release)" >&2
if [ -n "${BIN:-}" ]; then
  cargo build --release --locked --example loadgen >&2
else
  cargo build --release --locked --bin dispatch-tagger --example loadgen >&2
fi

if [ "$quick" = 0 ]; then
  peer_port=$(free_port)
  start_python_peer "$peer_port" "$work" "$shared/data" "${client_cpu[@]}"
fi

port=$(free_port)
echo "== our server on 127.0.0.1:$port" >&2
t0=$(now_ms)
"${server_cpu[@]}" "$bin" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
serving_ms=""
for _ in $(seq 2000); do
  if "$bin" healthcheck --addr "http://127.0.0.1:$port" --timeout 1 >/dev/null 2>&1; then
    serving_ms=$(( $(now_ms) - t0 )); break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "server died" >&2; exit 1; }
done
[ -n "$serving_ms" ] || { echo "server not SERVING" >&2; exit 1; }
rss_start=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")

( while kill -0 "$server_pid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || true
    sleep 0.2
  done ) >"$work/rss.txt" &
rss_pid=$!

lg() { # label mode [extra args]
  local label=$1 mode=$2 p=$3 c=$conc; shift 3
  [ "$mode" = stream ] && c=$sconc
  echo "== $label $mode ${secs}s c=$c" >&2
  "${client_cpu[@]}" "$loadgen" --addr "http://127.0.0.1:$p" --label "$label" --mode "$mode" \
    --concurrency "$c" --connections "$conns" --duration "$secs" --data "$data" --batch 100 "$@" \
    | tee -a "$work/results.txt" >&2
}
lg ours health "$port"
lg ours classify "$port"
lg ours stream "$port"
lg ours summarize "$port"
kill "$rss_pid" 2>/dev/null || true; wait "$rss_pid" 2>/dev/null || true; rss_pid=""
rss_end=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
[ "$quick" = 0 ] && lg python classify "$peer_port"

kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
[ -n "$peer_pid" ] && { kill "$peer_pid"; wait "$peer_pid" 2>/dev/null || true; peer_pid=""; }

rss_max=$(sort -n "$work/rss.txt" | tail -1)
cores=$([ "$pin" = 1 ] && echo "server pinned to CPU 0, load generator and peer to CPU 1" \
  || echo "unpinned: server, load generator (and peer) share all $(nproc) CPUs")

echo
echo "dispatch-tagger load, ${secs} s per run, concurrency $conc (streams $sconc) over $conns connections, data $(basename "$data"); $cores"
awk -v secs="$secs" '
function kv(line, key,   n, i, f, a) { n = split(line, f, " "); for (i = 1; i <= n; i++) { split(f[i], a, "="); if (a[1] == key) return a[2] } return "" }
/^label=/ {
  l = kv($0, "label"); m = kv($0, "mode"); t = kv($0, "throughput")
  p50 = kv($0, "p50_ms"); p99 = kv($0, "p99_ms")
  tp[l "/" m] = t; r50[l "/" m] = p50; r99[l "/" m] = p99
  rows[++nrows] = sprintf("%-8s %-10s %12s %-12s %8s %8s %8s %9s %6.2f  %s", l, m, t, kv($0, "unit"), p50, kv($0, "p90_ms"), p99, kv($0, "max_ms"), (p50 > 0 ? p99 / p50 : 0), kv($0, "errors"))
}
function ratio(a, b) { return (b > 0) ? a / b : 0 }
function verdict(ok) { return ok ? "ok" : "MISSED" }
END {
  printf "%-8s %-10s %12s %-12s %8s %8s %8s %9s %6s  %s\n", "server", "mode", "throughput", "unit", "p50_ms", "p90_ms", "p99_ms", "max_ms", "p99/50", "errors"
  for (i = 1; i <= nrows; i++) print rows[i]
  print ""
  x = ratio(tp["ours/classify"], tp["ours/health"]); printf "classify/health throughput       %8.3f   target >= 0.25  %s\n", x, verdict(x >= 0.25)
  if ("python/classify" in tp) { x = ratio(tp["ours/classify"], tp["python/classify"]); printf "ours/python classify throughput  %8.2f   target >= 50    %s\n", x, verdict(x >= 50) }
  x = ratio(tp["ours/stream"], tp["ours/classify"]); printf "stream/unary (batches of 100)    %8.2f   target >= 1.5   %s\n", x, verdict(x >= 1.5)
  x = ratio(tp["ours/classify"], tp["ours/summarize"]); printf "classify/summarize throughput    %8.2f   target <= 1.5   %s\n", x, verdict(x <= 1.5)
  x = ratio(r99["ours/classify"], r50["ours/classify"]); printf "classify p99/p50                 %8.2f   target <= 3     %s\n", x, verdict(x <= 3)
}' "$work/results.txt"
awk -v mx="$rss_max" -v st="$rss_start" -v en="$rss_end" -v secs="$secs" 'BEGIN {
  printf "server RSS MB (start/end/max)    %.1f/%.1f/%.1f   target < 150 (60 s run: --long)   %s\n", st/1024, en/1024, mx/1024, (mx/1024 < 150 ? "ok" : "MISSED") }'
awk -v ms="$serving_ms" 'BEGIN { printf "process start to SERVING         %5d ms   target < 300   %s (includes healthcheck poll process spawns)\n", ms, (ms < 300 ? "ok" : "MISSED") }'
