#!/usr/bin/env bash
# CPU per call of the server and of the load generator, for one or more
# dispatch-tagger binaries served in turn (round-robin, so that each round
# sees the same machine), loopback, unpinned. Throughput on a shared machine
# depends on how much of it the server's threads get beside other work; CPU
# per call (utime + stime from /proc, over the calls made) much less so.
#
#   bash bench/cpu_per_call.sh BIN [BIN...]
#
# Env: MODE (classify; or health, stream, summarize), ROUNDS (3), SECS (3 per
# run), CONCURRENCY (16; 8 for stream, what one client address may hold),
# DATA (default $SHARED/data/corpora/bbc-en-dev.jsonl.gz), SHARED (../shared).
# Needs the load generator: cargo build --release --example loadgen.
# Prints one line per run (calls/s, server and load generator CPU µs per
# call, context switches per call of each, idle share of all CPUs, p50/p99
# ms, load average) and the median of each binary's runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,16p "$0"; exit 2; }
mode=${MODE:-classify} rounds=${ROUNDS:-3} secs=${SECS:-3}
conc=${CONCURRENCY:-$([ "$mode" = stream ] && echo 8 || echo 16)}
data=${DATA:-${SHARED:-../shared}/data/corpora/bbc-en-dev.jsonl.gz}
loadgen=${CARGO_TARGET_DIR:-target}/release/examples/loadgen
[ -x "$loadgen" ] || { echo "no $loadgen: cargo build --release --example loadgen" >&2; exit 1; }
tck=$(getconf CLK_TCK)
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# The process may have exited between two reads: then 0 (cat's failure
# must not end the script under pipefail).
switches() { { cat /proc/"$1"/task/*/status 2>/dev/null || true; } | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
idle() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
field() { tr ' ' '\n' <"$work/lg.out" | awk -F= -v k="$1" '$1 == k {print $2}'; }

run() { # bin -> one line
  local bin=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 200); do
    "$bin" healthcheck --addr "http://127.0.0.1:$port" --timeout 1 >/dev/null 2>&1 && break
    sleep 0.05
  done
  local lg=("$loadgen" --addr "http://127.0.0.1:$port" --mode "$mode" --concurrency "$conc"
    --connections 4 --batch 100 --data "$data")
  "${lg[@]}" --duration 0.5 >/dev/null # warm-up
  local s0 x0 i0 t0 s1 x1 i1 t1 l=0 lx=0 c y
  s0=$(cpu "$server"); x0=$(switches "$server"); read -r i0 t0 < <(idle)
  "${lg[@]}" --duration "$secs" >"$work/lg.out" &
  local pid=$!
  # The load generator's own figures, read until just before it exits.
  while kill -0 "$pid" 2>/dev/null; do
    c=$(cpu "$pid"); [ "$c" -gt 0 ] && l=$c
    y=$(switches "$pid"); [ "$y" -gt 0 ] && lx=$y
    sleep 0.1
  done
  wait "$pid" || true
  s1=$(cpu "$server"); x1=$(switches "$server"); read -r i1 t1 < <(idle)
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  awk -v b="$bin" -v n="$(field items)" -v tp="$(field throughput)" -v s=$((s1 - s0)) -v l="$l" \
    -v sx=$((x1 - x0)) -v lx="$lx" -v tck="$tck" -v di=$((i1 - i0)) -v dt=$((t1 - t0)) \
    -v p50="$(field p50_ms)" -v p99="$(field p99_ms)" -v err="$(field errors)" \
    -v la="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    printf "%s %s %.0f/s server %.1f us loadgen %.1f us switches %.2f/%.2f idle %.1f%% p50 %s p99 %s errors %s load %s\n",
      b, "'"$mode"'", tp, s / tck * 1e6 / n, l / tck * 1e6 / n, sx / n, lx / n, 100 * di / dt, p50, p99, err, la }'
}

for _ in $(seq "$rounds"); do
  # Not in a pipeline: run() sets $server for the trap in this shell.
  for bin in "$@"; do run "$bin" >>"$work/runs.txt"; tail -1 "$work/runs.txt"; done
done
echo "median of $rounds runs: calls/s, server and load generator CPU µs per call"
python3 - "$work/runs.txt" "$@" <<'PY'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
for b in sys.argv[2:]:
    mine = [r for r in runs if r[0] == b]
    med = lambda i: statistics.median(float(r[i].rstrip("/s")) for r in mine)
    print(f"{b} {med(2):.0f}/s server {med(4):.1f} us loadgen {med(7):.1f} us")
PY
