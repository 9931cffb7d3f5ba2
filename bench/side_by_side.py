#!/usr/bin/env python3
"""dispatch-tagger next to scikit-learn on the same train/dev splits, in one run.

Runs, in this order and on this machine:
  1. `dispatch-tagger train --recipe recipes/default.toml` under /usr/bin/time
     (wall time, peak RSS), unless --no-train (then the embedded model is used);
  2. `dispatch-tagger eval --json` on every shared dev split (and the Reuters
     dev carve, scored from reuters-en-train);
  3. bench/peer_sklearn.py (TfidfVectorizer + LogisticRegression per corpus,
     one combined model, and a one-vs-rest region model) under /usr/bin/time;
and prints one table: per dev split, our macro-F1 / accuracy beside the
peers', then fit time and peak memory of each.

    pip install -r bench/requirements-peers.txt
    cargo build --release
    python3 bench/side_by_side.py [--data ../shared/data] [--no-train] [--quick]

--quick (used by CI) checks that the pipeline still works: it skips the
training and the scikit-learn peer and only evaluates the embedded model.

--cross-source is the generalization guard: it trains the one-source recipes
(recipes/cross-bbc.toml, recipes/cross-orangesum.toml) one after the other
and scores each on its own dev split and on another source's
(BBC -> MasakhaNEWS-en, OrangeSum -> MasakhaNEWS-fr), then exits.
"""

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path("target/release/dispatch-tagger")
CROSS = [("recipes/cross-bbc.toml", "bbc-en-dev", "masakhanews-en-dev"),
         ("recipes/cross-orangesum.toml", "orangesum-fr-dev", "masakhanews-fr-dev")]
DEV = ["bbc-en-dev", "masakhanews-en-dev", "masakhanews-fr-dev", "orangesum-fr-dev"]


def timed(cmd, **kw):
    """Runs cmd under GNU time; returns (stdout, wall seconds, peak MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *cmd],
                              stdout=subprocess.PIPE, text=True, **kw)
        if proc.returncode != 0:
            sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}")
        t = tf.read()
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", t)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    return proc.stdout, h * 3600 + m * 60 + s, rss / 1024


def speed(model_args, corpora, work):
    """Model file size, one-document wall time (process start and model load
    included) and batch throughput of `classify` on masakhanews-en-dev
    (documents / (batch wall - one-document wall))."""
    src = corpora / "masakhanews-en-dev.jsonl.gz"
    with gzip.open(src, "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    one = work / "one.jsonl"
    one.write_text(lines[0], encoding="utf-8")
    _, t1, _ = timed([BIN, "classify", *model_args, "--input", one], stderr=subprocess.DEVNULL)
    _, tn, _ = timed([BIN, "classify", *model_args, "--input", src], stderr=subprocess.DEVNULL)
    rate = len(lines) / max(tn - t1, 1e-3)
    return t1, rate


def cross_source(args, corpora, work):
    """Trains each one-source recipe and scores it in and out of its source."""
    print(f"{'recipe':<30} {'dev split':<22} {'accuracy':>9} {'macroF1':>8} {'ece':>7} {'fit s':>6}")
    for recipe, own, other in CROSS:
        model = work / (Path(recipe).stem + ".dtm")
        _, wall, _ = timed([BIN, "train", "--recipe", recipe, "--out", model, "--data", args.data],
                           stderr=subprocess.DEVNULL)
        out, _, _ = timed([BIN, "eval", "--model", model, "--json", "--data",
                           ",".join(str(corpora / f"{d}.jsonl.gz") for d in (own, other))])
        for s in json.loads(out)["splits"]:
            t = s["topics"]
            print(f"{recipe:<30} {s['split']:<22} {t['accuracy']:>9.4f} {t['macro_f1']:>8.4f} "
                  f"{t.get('ece', float('nan')):>7.4f} {wall:>6.1f}", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--recipe", default="recipes/default.toml")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cross-source", action="store_true",
                    help="train the one-source recipes and score them on another source")
    args = ap.parse_args()
    if not BIN.exists():
        sys.exit(f"{BIN} missing: cargo build --release first")
    corpora = Path(args.data) / "corpora"
    work = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    if args.cross_source:
        return cross_source(args, corpora, work)

    ours_fit = None
    model_args = []
    if not (args.no_train or args.quick):
        model = work / "model.dtm"
        _, wall, rss = timed([BIN, "train", "--recipe", args.recipe, "--out", model,
                              "--data", args.data])
        ours_fit = (wall, rss)
        model_args = ["--model", str(model)]
        print(f"dispatch-tagger train: {wall:.1f} s wall, peak {rss:.0f} MB", flush=True)

    files = [corpora / f"{d}.jsonl.gz" for d in DEV] + [corpora / "reuters-en-train.jsonl.gz"]
    out, wall, rss = timed([BIN, "eval", *model_args, "--json", "--data",
                            ",".join(map(str, files))])
    ours = {s["split"]: s for s in json.loads(out)["splits"]}
    print(f"dispatch-tagger eval: {wall:.1f} s wall for {sum(s['records'] for s in ours.values())} records",
          flush=True)

    peers = None
    if not args.quick:
        pj = work / "peers.json"
        _, pwall, prss = timed([sys.executable, "bench/peer_sklearn.py", "--data", args.data,
                                "--recipe", args.recipe, "--json", pj])
        peers = json.loads(pj.read_text())
        peers["wall"], peers["rss"] = pwall, prss

    print()
    print(f"{'dev split':<22} {'task':<8} {'ours macroF1':>12} {'ours acc':>9} {'ours microF1':>12} "
          f"{'ours ECE':>8} {'skl/corpus':>10} {'skl/combined':>12} {'gazetteer':>9}")
    for name in DEV + ["reuters-en-dev"]:
        s = ours.get(name)
        if s is None:
            sys.exit(f"eval gave no figures for {name}")
        for task in ("topics", "regions"):
            t = s.get(task)
            if not t:
                continue
            per = comb = gaz = ""
            g = s.get("gazetteer_regions")
            if task == "regions" and g:
                gaz = f"µ{g['micro_f1']:.4f}"
            if peers and task == "topics":
                c = name.removesuffix("-dev")
                if c in peers["per_corpus"]:
                    per = f"{peers['per_corpus'][c]['dev'][name]['macro_f1']:.4f}"
                d = peers["combined"]["dev"].get(name)
                comb = f"{d['macro_f1']:.4f}" if d else ""
            if peers and task == "regions" and name == "reuters-en-dev":
                per = f"µ{peers['regions']['micro_f1']:.4f}"
            print(f"{name:<22} {task:<8} {t['macro_f1']:>12.4f} {t['accuracy']:>9.4f} "
                  f"{t['micro_f1']:>12.4f} {t.get('ece', float('nan')):>8.4f} {per:>10} {comb:>12} {gaz:>9}")
    print()
    size = Path(model_args[1]).stat().st_size if model_args else Path("models/default.dtm").stat().st_size
    t1, rate = speed(model_args, corpora, work)
    print(f"dispatch-tagger model {size / 1e6:.1f} MB; classify one document {t1 * 1000:.0f} ms wall "
          f"(process start and model load included); batch {rate:.0f} documents/s")
    if ours_fit:
        print(f"fit, dispatch-tagger (all corpora, topics + regions): {ours_fit[0]:.1f} s, peak {ours_fit[1]:.0f} MB")
    if peers:
        c = peers["combined"]
        print(f"fit, scikit-learn combined topics (one C): {c['fit_seconds']:.1f} s "
              f"(+{c['vectorize_seconds']:.1f} s vectorizing); whole peer script {peers['wall']:.0f} s, "
              f"peak {peers['rss']:.0f} MB")
    # Quick mode is CI's smoke check: figures must exist and be sane.
    bad = [n for n, s in ours.items()
           for t in (s.get("topics"), s.get("regions")) if t and not 0.0 <= t["macro_f1"] <= 1.0]
    if bad:
        sys.exit(f"figures out of range: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
