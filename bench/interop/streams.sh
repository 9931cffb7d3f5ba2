#!/usr/bin/env bash
# ClassifyStream of N one-line dispatches on one stream (default 100,000)
# from grpcio, grpc-js (flow-controlled and write-all-first), grpc-go and
# grpcurl against one release server; prints each client's result and the
# server's peak RSS after each. Needs what docs/clients.md lists (the
# example clients installed, Debian's golang-go and golang-google-grpc-dev,
# grpcurl). Loopback only; ends by itself.
#
#   bash bench/interop/streams.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
BIN=${BIN:-target/release/dispatch-tagger}
WORK=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
"$BIN" serve --listen "$ADDR" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  "$BIN" healthcheck --addr "http://$ADDR" --timeout 1 >/dev/null 2>&1 && break
  sleep 0.1
done
rss() { awk '/VmHWM/ {printf "server peak RSS %d MB", $2/1024}' "/proc/$PID/status"; }

python3 - "$N" >"$WORK/flood.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": f"d{i}", "text": "Shares fell in Tokyo as the yen rose against the dollar."}))
PY
in_order() {
  python3 - "$1" "$N" <<'PY'
import sys
ids = [l.rstrip("\n").split("\t")[0] for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
ok = ids == [f"d{i}" for i in range(n)]
print(("OK" if ok else "FAIL") + f" {len(ids)} answers" + (" in order" if ok else ""), end="")
PY
}

echo "== $N one-line dispatches on one ClassifyStream, $(date -u +%FT%TZ)"
t=$(date +%s.%N)
python3 examples/clients/python/client.py stream "$WORK/flood.jsonl" --addr "$ADDR" >"$WORK/py.out" 2>"$WORK/py.err" || true
echo "grpcio $(python3 -c 'import grpc; print(grpc.__version__)'): $(in_order "$WORK/py.out") in $(python3 -c "import time; print(f'{time.time()-$t:.1f}')")s $(head -c 200 "$WORK/py.err"); $(rss)"
node bench/interop/flood.js --addr "$ADDR" -n "$N" || true; rss; echo
node bench/interop/flood.js --addr "$ADDR" -n "$N" --write-all-first || true; rss; echo
GO111MODULE=off GOPATH=/usr/share/gocode go run bench/interop/flood.go -addr "$ADDR" -n "$N" || true; rss; echo
t=$(date +%s.%N)
grpcurl -plaintext -d @ "$ADDR" dispatch.v1.DispatchTaggerService/ClassifyStream <"$WORK/flood.jsonl" >"$WORK/grpcurl.out" 2>"$WORK/grpcurl.err" || true
python3 - "$WORK/grpcurl.out" "$WORK/grpcurl.tsv" <<'PY'
import json, sys
dec, text, i, out = json.JSONDecoder(), open(sys.argv[1]).read(), 0, open(sys.argv[2], "w")
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    obj, i = dec.raw_decode(text, i)
    out.write(obj.get("id", "") + "\n")
PY
echo "grpcurl $(grpcurl -version 2>&1 | awk '{print $2}'): $(in_order "$WORK/grpcurl.tsv") in $(python3 -c "import time; print(f'{time.time()-$t:.1f}')")s $(head -c 200 "$WORK/grpcurl.err"); $(rss)"
# grep -c prints 0 and fails when nothing matches: a clean run.
echo "server log error lines: $(grep -c 'too_many\|GOAWAY\|ERROR' "$WORK/server.log" || true)"
