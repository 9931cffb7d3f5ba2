#!/usr/bin/env bash
# Interop check of the release binary with the clients other teams use:
# the example clients of examples/clients (grpcio and @grpc/grpc-js) classify
# and summarize the French example, send a gzip request, classify for a desk
# (`candidateTopics`) and get INVALID_ARGUMENT for a topic code the model
# does not know, stream the sample file, and each streams N one-line
# dispatches (default 20,000) on one ClassifyStream, answered in full and in
# order. Installs the clients' packages itself (pip, npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/dispatch-tagger}
EXAMPLE=${EXAMPLE:-../shared/examples/aleppo-fr.txt}
N=${INTEROP_STREAM:-20000}
# shellcheck source=scripts/e2e-lib.sh
. scripts/e2e-lib.sh

[ -x "$BIN" ] || fail "$BIN missing: cargo build --release first"
[ -f "$EXAMPLE" ] || fail "$EXAMPLE missing"

python3 -m pip install --quiet -r examples/clients/python/requirements.txt
bash examples/clients/python/build.sh >/dev/null
(cd examples/clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
PY=(python3 examples/clients/python/client.py)
JS=(node examples/clients/node/client.js)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
"$BIN" serve --listen "$ADDR" --log-format json >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  "$BIN" healthcheck --addr "http://$ADDR" --timeout 1 >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || fail "server exited at start"
  sleep 0.1
done

# N one-line dispatches, ids d0..d(N-1).
python3 - "$N" >"$WORK/flood.jsonl" <<'PY'
import json, sys
lines = ["Shares fell in Tokyo as the yen rose against the dollar.",
         "Le gouvernement a présenté son budget à l'Assemblée nationale."]
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": f"d{i}", "text": lines[i % 2]}, ensure_ascii=False))
PY

# check_stream NAME FILE COUNT: COUNT answers, ids d0.. in order.
check_stream() {
  python3 - "$2" "$3" <<'PY' || fail "$1: $(tail -c 600 "$2")"
import sys
ids = [line.split("\t")[0] for line in open(sys.argv[1], encoding="utf-8")]
n = int(sys.argv[2])
assert len(ids) == n, f"{len(ids)} answers for {n} requests"
assert ids == [f"d{i}" for i in range(n)], "answers out of order"
PY
  pass "$1"
}

for client in PY JS; do
  declare -n run=$client
  name=$([ "$client" = PY ] && echo "grpcio $(python3 -c 'import grpc; print(grpc.__version__)')" \
    || echo "grpc-js $(node -p 'require("./examples/clients/node/node_modules/@grpc/grpc-js/package.json").version')")
  "${run[@]}" classify "$EXAMPLE" --addr "$ADDR" >"$WORK/classify.out" 2>&1 \
    && grep -q '^places: *Syria' "$WORK/classify.out" || fail "$name classify: $(cat "$WORK/classify.out")"
  pass "$name: Classify of the French example (Syria first)"
  "${run[@]}" classify "$EXAMPLE" --addr "$ADDR" --gzip >"$WORK/gzip.out" 2>&1 \
    && grep -q '^places: *Syria' "$WORK/gzip.out" || fail "$name gzip classify: $(cat "$WORK/gzip.out")"
  pass "$name: Classify with a gzip-compressed request"
  "${run[@]}" classify "$EXAMPLE" --addr "$ADDR" --language fr \
    --candidate-topics medtop:04000000,medtop:11000000 >"$WORK/desk.out" 2>&1 \
    && grep -q '^topics: *politics [0-9.]*$' "$WORK/desk.out" || fail "$name desk classify: $(cat "$WORK/desk.out")"
  pass "$name: Classify for a desk of economy and politics (politics alone, not conflict)"
  if "${run[@]}" classify "$EXAMPLE" --addr "$ADDR" --candidate-topics sport >"$WORK/bad.out" 2>&1 \
    || ! grep -q '^error: INVALID_ARGUMENT: candidateTopics has "sport"' "$WORK/bad.out"; then
    fail "$name classify with an unknown candidate topic: $(cat "$WORK/bad.out")"
  fi
  pass "$name: an unknown candidate topic is INVALID_ARGUMENT"
  "${run[@]}" summarize "$EXAMPLE" --addr "$ADDR" >"$WORK/summary.out" 2>&1 \
    && [ -s "$WORK/summary.out" ] || fail "$name summarize: $(cat "$WORK/summary.out")"
  pass "$name: Summarize of the French example"
  "${run[@]}" stream examples/clients/dispatches.jsonl --addr "$ADDR" >"$WORK/sample.out" 2>&1 \
    && [ "$(wc -l <"$WORK/sample.out")" -eq "$(grep -c . examples/clients/dispatches.jsonl)" ] \
    || fail "$name stream of the sample file: $(cat "$WORK/sample.out")"
  pass "$name: ClassifyStream of examples/clients/dispatches.jsonl"
  start=$(date +%s.%N)
  "${run[@]}" stream "$WORK/flood.jsonl" --addr "$ADDR" >"$WORK/flood.out" 2>&1 || true
  secs=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
  check_stream "$name: ClassifyStream of $N one-line dispatches in ${secs}s, every answer in order" \
    "$WORK/flood.out" "$N"
done
kill -TERM "$PID"
wait "$PID" || fail "server exit code $? after SIGTERM"
PID=""
echo "interop: $PASSED checks passed"
