#!/usr/bin/env bash
# Answers of `classify --explain` and `summarize` for every dev split, with
# the records' language hints and without them (detection), one JSON line
# per record: run it with the binary before and after a change and diff the
# two directories to see every answer the change moves.
#
#   bash bench/outputs.sh BIN OUTDIR [SHARED]      (SHARED defaults to ../shared)
#   diff -r OUTDIR_BEFORE OUTDIR_AFTER && echo identical
set -euo pipefail
bin=$1 out=$2 shared=${3:-../shared}
data=$shared/data/corpora
[ -d "$data" ] || { echo "outputs: $data missing: the dev splits come from the shared data" >&2; exit 1; }
mkdir -p "$out"
for f in "$data"/*-dev.jsonl.gz; do
  n=$(basename "$f" .jsonl.gz)
  nohint=$(mktemp --suffix=.jsonl)
  zcat "$f" | python3 -c 'import json,sys
for line in sys.stdin:
    r = json.loads(line); r["lang"] = ""; print(json.dumps(r, ensure_ascii=False))' >"$nohint"
  "$bin" classify --explain --input "$f" >"$out/$n.classify.jsonl" 2>/dev/null
  "$bin" classify --explain --input "$nohint" >"$out/$n.classify-nohint.jsonl" 2>/dev/null
  "$bin" summarize --input "$f" >"$out/$n.summarize.jsonl" 2>/dev/null
  "$bin" summarize --input "$nohint" >"$out/$n.summarize-nohint.jsonl" 2>/dev/null
  rm -f "$nohint"
done
echo "outputs: $(ls "$out" | wc -l) files in $out"
