#!/usr/bin/env bash
# Issue 19's own load measurement: h2load (nghttp2's HTTP/2 load generator,
# written in C) sends one fixed gRPC request over and over, 16 connections
# x 4 streams on loopback, to health Check and to Classify of the example
# dispatch (no language hint), then to Classify on the Python peer.
#
#   bench/h2load.sh            10 s per run, with the Python peer
#   bench/h2load.sh --quick    2 s per run, no Python peer
#
# Env: ROUNDS (1): health and Classify runs alternate this many times and
# the ratio printed is the median of the rounds' ratios (health alone
# moves by a quarter between runs a minute apart on a shared machine);
# CONNECTIONS (16), STREAMS (4 per connection), SECS, SHARED
# (../shared), BIN (serve this dispatch-tagger binary instead of building
# this checkout's). Needs h2load (Debian: apt-get install nghttp2-client).
#
# h2load counts HTTP/2 responses, and a refused or failed gRPC call is an
# HTTP 200 too (its status is in the trailers), so every run is checked:
# our server's calls by its own metrics (grpc_server_handled_total by code),
# the peer's by the DATA bytes h2load received, which are one fixed-size
# message per successful call and none for a failed one. The server runs
# with --max-concurrent-calls 256 so that the 64 calls in flight from one
# address fit in its per-address share (half the slots) with room to spare:
# a call's slot is freed just after its answer leaves, and h2load sends the
# next call on the answer. At the default 64, half of them would be
# refused and measured as refusals.
#
# bench/load.sh measures the same ratio with the project's own Rust load
# generator, 16 calls in flight, over varied bbc-en dispatches: the two
# scripts do not read the same (docs/benchmarks.md, "Load and soak").
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SECS:-10} quick=0 rounds=${ROUNDS:-1}
for a in "$@"; do
  case "$a" in
    --quick) secs=${SECS:-2} quick=1 ;;
    -h|--help) sed -n 2,28p "$0"; exit 0 ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done
conns=${CONNECTIONS:-16}
streams=${STREAMS:-4}
shared=${SHARED:-../shared}
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/dispatch-tagger}
command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client" >&2; exit 1; }
work=$(mktemp -d)
server_pid="" peer_pid=""
cleanup() {
  for p in $server_pid $peer_pid; do kill "$p" 2>/dev/null || true; done
  for p in $server_pid $peer_pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/common.sh
. bench/common.sh

if [ -z "${BIN:-}" ]; then
  echo "== build (release)" >&2
  cargo build --release --locked --bin dispatch-tagger >&2
fi

# gRPC messages: a 5-byte prefix (uncompressed, big-endian length) and the
# protobuf bytes; ClassifyRequest{id: "a", text: the example dispatch}.
python3 - "$shared/examples/aleppo-fr.txt" "$work" <<'EOF'
import struct, sys
def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7f) | (0x80 if n > 0x7f else 0))
        n >>= 7
        if not n:
            return bytes(out)
def field(number, data):
    return bytes([number << 3 | 2]) + varint(len(data)) + data
text = open(sys.argv[1], "rb").read()
frame = lambda msg: b"\x00" + struct.pack(">I", len(msg)) + msg
open(f"{sys.argv[2]}/health.bin", "wb").write(frame(b""))
open(f"{sys.argv[2]}/classify.bin", "wb").write(frame(field(1, b"a") + field(3, text)))
EOF

if [ "$quick" = 0 ]; then
  peer_port=$(free_port)
  start_python_peer "$peer_port" "$work" "$shared/data"
fi

port=$(free_port) metrics=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$metrics" \
  --max-concurrent-calls 256 >"$work/server.log" 2>&1 &
server_pid=$!
wait_serving "$bin" "$port" "$server_pid" "$work/server.log"

# Calls of `method` our server has finished, and of them those not OK.
handled() { # method
  curl -s "http://127.0.0.1:$metrics/metrics" |
    awk -v m="grpc_method=\"$1\"" '/^grpc_server_handled_total/ && index($0, m) {
      n += $NF; if (!index($0, "grpc_code=\"OK\"")) bad += $NF } END { print n + 0, bad + 0 }'
}
# h2load's figures of one run: requests done, req/s, DATA bytes received.
h2() { # url body h2load-options...
  local url=$1 body=$2; shift 2
  h2load "$@" -d "$body" -H content-type:application/grpc -H te:trailers "$url" | awk '
    /^finished in/ { rps = $4 }
    /^requests:/ { done = $8 }
    /^traffic:/ { for (i = 1; i <= NF; i++) if ($i == "data") { d = $(i - 1); gsub(/[()]/, "", d) } }
    END { printf "%s %s %s\n", done, rps, d }'
}
# A 1 s warm-up at full load sizes the measured run: a fixed number of
# calls, about `secs` seconds' worth, so that none is in flight (and
# cancelled) when h2load stops and every one of them can be checked.
calls_for() { # url body
  local rps
  read -r _ rps _ < <(h2 "$1" "$2" -D 1 -c "$conns" -m "$streams")
  sleep 0.3  # the warm-up's calls in flight at its end are cancelled now
  awk -v r="$rps" -v s="$secs" 'BEGIN { n = int(r * s); print (n < 1000 ? 1000 : n) }'
}

base=http://127.0.0.1:$port
results=()
for round in $(seq "$rounds"); do
  for mode in health classify; do
    if [ "$mode" = health ]; then path=/grpc.health.v1.Health/Check method=Check
    else path=/dispatch.v1.DispatchTaggerService/Classify method=Classify; fi
    n=$(calls_for "$base$path" "$work/$mode.bin")
    read -r n0 bad0 < <(handled "$method")
    echo "== round $round, ours $mode: $n calls, $conns connections x $streams streams" >&2
    read -r done rps _ < <(h2 "$base$path" "$work/$mode.bin" -n "$n" -c "$conns" -m "$streams")
    read -r n1 bad1 < <(handled "$method")
    [ "$done" = "$n" ] && [ $(( n1 - n0 )) = "$n" ] && [ "$bad1" = "$bad0" ] ||
      { echo "ours $mode: h2load saw $done of $n calls, the server $(( n1 - n0 )), $(( bad1 - bad0 )) not OK (its log says why)" >&2; exit 1; }
    results+=("ours $mode $rps $n $round")
  done
done

if [ "$quick" = 0 ]; then
  url=http://127.0.0.1:$peer_port/dispatch.v1.DispatchTaggerService/Classify
  # The peer has no metrics: each OK answer is the same message of `size`
  # bytes, a failed call none.
  read -r one _ size < <(h2 "$url" "$work/classify.bin" -n 1 -c 1 -m 1)
  [ "$one" = 1 ] && [ "${size:-0}" -gt 0 ] || { echo "the peer did not answer one Classify" >&2; exit 1; }
  n=$(calls_for "$url" "$work/classify.bin")
  echo "== python classify: $n calls, $conns connections x $streams streams" >&2
  read -r done rps bytes < <(h2 "$url" "$work/classify.bin" -n "$n" -c "$conns" -m "$streams")
  [ "$done" = "$n" ] && [ "$bytes" = $(( n * size )) ] ||
    { echo "python classify: $done of $n calls, $(( bytes / size )) with an answer" >&2; exit 1; }
  results+=("python classify $rps $n 0")
fi

echo
echo "h2load, about ${secs} s per run, $conns connections x $streams streams, the example dispatch ($(nproc) CPUs shared by server and h2load)"
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
runs = [line.split() for line in sys.stdin]
tp = {}
for who, mode, rps, n, rnd in runs:
    label = f"{who} {mode}" + (f" (round {rnd})" if who == "ours" else "")
    print(f"{label:<28} {float(rps):12.1f} req/s  ({n} calls, all OK)")
    tp.setdefault((who, mode), []).append(float(rps))
ratios = [c / h for c, h in zip(tp["ours", "classify"], tp["ours", "health"])]
r = statistics.median(ratios)
each = ", ".join(f"{x:.3f}" for x in ratios)
verdict = lambda ok: "ok" if ok else "MISSED"
print(f"classify/health throughput       {r:8.3f}   target >= 0.25  {verdict(r >= 0.25)}"
      + (f"  (median of {len(ratios)} rounds: {each})" if len(ratios) > 1 else ""))
if ("python", "classify") in tp:
    r = statistics.median(tp["ours", "classify"]) / tp["python", "classify"][0]
    print(f"ours/python classify throughput  {r:8.2f}   target >= 50    {verdict(r >= 50)}")
'
