#!/usr/bin/env bash
# Operations end to end, with the commands docs/operations.md prints: certificates
# made with openssl, the release binary serving mutual TLS with a metrics port
# and a model file, grpcurl with -cacert/-cert/-key, curl of /metrics, the
# healthcheck over TLS, SIGHUP reloads (a corrupt file refused, a good one
# taken), a bad key refused at start, SIGTERM exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/dispatch-tagger}
MODEL=${MODEL:-models/default.dtm}
# shellcheck source=scripts/e2e-lib.sh
. scripts/e2e-lib.sh

for tool in grpcurl openssl curl python3; do
  command -v "$tool" >/dev/null || fail "$tool not on PATH"
done
[ -x "$BIN" ] || fail "$BIN missing: cargo build --release first"
[ -f "$MODEL" ] || fail "$MODEL missing"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
MPORT=$(free_port)

# The certificates of docs/operations.md (TLS), verbatim.
(
  cd "$WORK"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=dispatch-tagger test CA" -keyout ca.key -out ca.pem
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout server.key -out server.csr
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -days 365 -out server.pem \
    -extfile <(printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=caller" -keyout client.key -out client.csr
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -days 365 -out client.pem \
    -extfile <(printf "extendedKeyUsage=clientAuth")
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; fail "openssl"; }
pass "openssl: CA, server and client certificates"

# A key that does not match its certificate: one line, exit 1, before the model loads.
rc=0
"$BIN" serve --listen "127.0.0.1:$PORT" --tls-cert "$WORK/server.pem" --tls-key "$WORK/client.key" \
  >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
[ "$rc" -eq 1 ] || fail "mismatched key: exit $rc"
[ "$(wc -l <"$WORK/bad.err")" -eq 1 ] || fail "mismatched key: not one line: $(cat "$WORK/bad.err")"
grep -q "^dispatch-tagger: --tls-cert" "$WORK/bad.err" || fail "mismatched key: $(cat "$WORK/bad.err")"
pass "mismatched key refused at start: $(cat "$WORK/bad.err")"

cp "$MODEL" "$WORK/model.dtm"
TLS_CLIENT=(-cacert "$WORK/ca.pem" -cert "$WORK/client.pem" -key "$WORK/client.key")
HC_TLS=(--tls-ca "$WORK/ca.pem" --tls-cert "$WORK/client.pem" --tls-key "$WORK/client.key")

"$BIN" serve --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$MPORT" \
  --model "$WORK/model.dtm" --log-format json \
  --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key" --tls-client-ca "$WORK/ca.pem" \
  >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  if "$BIN" healthcheck --addr "https://localhost:$PORT" "${HC_TLS[@]}" --timeout 1 >/dev/null 2>&1; then break; fi
  kill -0 "$PID" 2>/dev/null || fail "server exited at start"
  sleep 0.1
done
"$BIN" healthcheck --addr "https://localhost:$PORT" "${HC_TLS[@]}" | grep -qx SERVING || fail "not SERVING over mutual TLS"
pass "healthcheck over mutual TLS: SERVING"

# Into a file, not `| grep -q`: under pipefail, grep -q quitting at the first
# match can kill grpcurl with SIGPIPE and fail the step (seen once in CI).
grpcurl "${TLS_CLIENT[@]}" "localhost:$PORT" list >"$WORK/list.out" 2>&1 \
  && grep -qx dispatch.v1.DispatchTaggerService "$WORK/list.out" \
  || { cat "$WORK/list.out" >&2; fail "grpcurl list over TLS"; }
grpcurl "${TLS_CLIENT[@]}" \
  -d '{"id":"x","text":"The central bank raised interest rates in Nairobi on Tuesday."}' \
  "localhost:$PORT" dispatch.v1.DispatchTaggerService/Classify >"$WORK/classify.json" || fail "grpcurl Classify over TLS"
python3 - "$WORK/classify.json" <<'PY' || fail "Classify over TLS: $(cat "$WORK/classify.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["id"] == "x" and r["language"] == "en", r
assert r["topics"][0]["code"] == "medtop:04000000", r["topics"]
PY
pass "grpcurl -cacert -cert -key: list and Classify (economy first)"

if grpcurl -cacert "$WORK/ca.pem" -max-time 5 "localhost:$PORT" list >"$WORK/nocert.out" 2>&1; then
  fail "a client without a certificate was served"
fi
if grpcurl -plaintext -max-time 5 "localhost:$PORT" list >"$WORK/plain.out" 2>&1; then
  fail "a plaintext client was served"
fi
if "$BIN" healthcheck --addr "https://localhost:$PORT" --tls-ca "$WORK/ca.pem" >"$WORK/hc.out"; then
  fail "healthcheck without a client certificate said SERVING"
fi
pass "refused: no client certificate, plaintext; healthcheck without certificate: $(cat "$WORK/hc.out")"

scrape() { curl -s "http://127.0.0.1:$MPORT/metrics"; }
value() { scrape | awk -v s="$1" 'index($0, s" ") == 1 { print $NF }'; }
svc='grpc_service="dispatch.v1.DispatchTaggerService"'
[ "$(value "grpc_server_handled_total{$svc,grpc_method=\"Classify\",grpc_code=\"OK\"}")" = 1 ] \
  || fail "metrics: Classify OK not 1: $(scrape | grep handled_total)"
scrape | grep '^dispatch_model_info{version="' >/dev/null || fail "metrics: no model info"
scrape | grep '^dispatch_build_info{version="' >/dev/null || fail "metrics: no build info"
# A binary built from this checkout reports its commit (the image's too:
# container-test.sh passes it as a build arg).
if sha=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  scrape | grep "^dispatch_build_info{.*git_sha=\"$sha\"" >/dev/null \
    || fail "metrics: build info is not commit $sha: $(scrape | grep '^dispatch_build_info')"
fi
pass "curl /metrics: Classify counted, model and build info (commit)"

# SIGHUP: a corrupt file is refused, the old model keeps answering.
python3 - "$WORK/model.dtm" "$WORK/next.dtm" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x55
open(sys.argv[2], "wb").write(b)
PY
mv "$WORK/next.dtm" "$WORK/model.dtm"
kill -HUP "$PID"
for _ in $(seq 1 100); do grep -q '"model reload refused' "$WORK/server.log" && break; sleep 0.1; done
grep '"model reload refused' "$WORK/server.log" | grep -q 'checksum' || fail "corrupt model not refused with its reason"
grpcurl "${TLS_CLIENT[@]}" -d '{"text":"Markets fell in Tokyo."}' "localhost:$PORT" dispatch.v1.DispatchTaggerService/Classify \
  >/dev/null || fail "old model stopped answering after a refused reload"
pass "SIGHUP with a corrupt file: refused, old model still answers"

cp "$MODEL" "$WORK/next.dtm" && mv "$WORK/next.dtm" "$WORK/model.dtm"
kill -HUP "$PID"
for _ in $(seq 1 100); do grep -q '"model reloaded"' "$WORK/server.log" && break; sleep 0.1; done
grep -q '"model reloaded"' "$WORK/server.log" || fail "good model not reloaded"
[ "$(value 'dispatch_model_reloads_total{result="ok"}')" = 1 ] || fail "reloads ok != 1"
[ "$(value 'dispatch_model_reloads_total{result="error"}')" = 1 ] || fail "reloads error != 1"
pass "SIGHUP with a good file: $(grep -o '"old":"[^"]*","new":"[^"]*"' "$WORK/server.log")"

kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
PID=""
[ "$rc" -eq 0 ] || fail "exit code $rc after SIGTERM"
pass "SIGTERM: exit 0"

echo "$PASSED passed, 0 failed"
