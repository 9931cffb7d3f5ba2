#!/usr/bin/env bash
# Fuzzes the cleaner/segmenter, the summarizer, the work per byte of the whole
# text pipeline (linear growth) and the model-file loader with
# cargo-fuzz (libFuzzer + AddressSanitizer) for a bounded time each. Not run
# in CI: run it by hand after changing src/text, src/summarize or the model
# file format.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60, all)
#
# Seed corpora are built at run time from ../shared/data (never committed);
# libFuzzer keeps what it finds under fuzz/corpus/ (git-ignored). A crash
# leaves its input under fuzz/artifacts/<target>/ and this script exits 1:
# turn that input into a regression test, then fix.
#
# cargo-fuzz needs unstable rustc flags (-Zsanitizer); this machine has only
# the stable toolchain, so RUSTC_BOOTSTRAP=1 unlocks them for the fuzz build
# alone (the fuzz crate is its own workspace with its own target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(clean_segment summarize work_per_byte model_file)
data=../shared/data/corpora
[ -d "$data" ] || { echo "fuzz: $data missing: the seeds come from the shared data" >&2; exit 1; }
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz

export RUSTC_BOOTSTRAP=1
# The fuzz build uses the project's pinned dependency versions.
cp Cargo.lock fuzz/Cargo.lock

# Seeds: real dispatches (scraped boilerplate included) and the shipped model.
seed() {
  local dir=fuzz/corpus/$1
  [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && return 0
  mkdir -p "$dir"
  case $1 in
    clean_segment|summarize|work_per_byte)
      python3 - "$dir" "$1" "$data" <<'PY'
import gzip, json, os, sys, glob
out, target, data = sys.argv[1], sys.argv[2], sys.argv[3]
n = 0
for path in sorted(glob.glob(os.path.join(data, "*-dev.jsonl.gz"))) + [os.path.join(data, "reuters-en-train.jsonl.gz")]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 40:
                break
            r = json.loads(line)
            text = (r.get("text") or "")[:4000]
            raw = text.encode()
            if target == "summarize":
                # options bytes, then "title\0text"
                raw = bytes([i % 4, 1 + i % 5, i % 7 * 20]) + (r.get("title") or "").encode() + b"\0" + raw
            with open(os.path.join(out, f"{os.path.basename(path)}-{i}"), "wb") as o:
                o.write(raw)
            n += 1
print(f"fuzz: {n} seeds for {target} from {data}")
PY
      for f in ../shared/examples/*.txt; do cp "$f" "$dir/example-$(basename "$f")"; done
      ;;
    model_file)
      # Mode byte 0 keeps the file's CRC, 1 re-seals mutations with a good one.
      { printf '\x00'; cat models/default.dtm; } > "$dir/default-keep-crc"
      { printf '\x01'; cat models/default.dtm; } > "$dir/default-reseal"
      ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  seed "$t"
  echo "== fuzz $t for ${secs}s"
  max_len=16384
  [ "$t" = model_file ] && max_len=$(( $(stat -c %s models/default.dtm) + 1 ))
  (cd fuzz && cargo fuzz build --release "$t") || { echo "fuzz: building $t failed" >&2; exit 2; }
  if ! (cd fuzz && cargo fuzz run --release "$t" -- \
        -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=4096 \
        -timeout=20 -print_final_stats=1 2>&1 | tail -n 25); then
    echo "fuzz: $t CRASHED: see fuzz/artifacts/$t/" >&2
    status=1
  fi
done
exit $status
