#!/usr/bin/env python3
"""Can one map of the top score calibrate both seen and unseen sources?

Reads the models and held-out splits that `bench/loso.py --keep DIR` leaves
(without-SRC.dtm, SRC-dev.jsonl.gz) and a train-only fit (`train
--measured-out M0`), classifies each held-out split with the model that
never saw its source and each dev split with M0, and fits a Platt map
p' = sigmoid(a * logit(p) + b) of the top topic's score three ways:

  1. on the other sources' leave-one-source-out answers (each source scored
     by a map that never saw it);
  2. on every leave-one-source-out answer, then applied to the dev answers;
  3. on both kinds at once.

Every split weighs the same in a fit (each answer weighs one over its
split's size), and in the blend the two kinds weigh the same. Prints the
ECE of each split before and after (10 equal-width bins, top-1 score
against correctness: `bench/loso.py`'s `ece`, the formula of
`dispatch-tagger eval`).

    python3 bench/loso.py --no-cost --peer-c 10 --keep /tmp/loso
    dispatch-tagger train --recipe recipes/default.toml --out m.dtm --measured-out m0.dtm
    python3 bench/recalibrate.py --loso-dir /tmp/loso --measured m0.dtm
"""

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import loso  # bench/loso.py: its `ece` is `dispatch-tagger eval`'s

DEV = ["bbc-en", "masakhanews-en", "masakhanews-fr", "orangesum-fr",
       "wikinews-en", "wikinews-fr", "wcep-en", "huffpost-en"]


def answers(binary, model, path):
    """(top score, right) of each single-topic record of a JSON Lines file."""
    with gzip.open(path, "rt") as f:
        recs = [r for r in map(json.loads, f) if r.get("topics")]
    lines = "".join(json.dumps({"id": str(i), "title": r.get("title", ""), "text": r["text"],
                                "lang": r.get("lang")}) + "\n" for i, r in enumerate(recs))
    out = subprocess.run([binary, "classify", "--model", model], input=lines,
                         capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        p = json.loads(line)
        top = p["topics"][0] if p["topics"] else None
        gold = recs[int(p["id"])]["topics"][0]
        res.append((top["score"] if top else 0.0, int(top is not None and top["code"] == gold)))
    return res


def ece(pairs):
    return loso.ece([s for s, _ in pairs], [c for _, c in pairs])


def logit(p):
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def fit(groups):
    """Platt map (a, b) by Newton's method on the weighted log loss, over
    (answers, weight of the group) pairs: each group weighs its weight,
    shared equally by its answers."""
    x = np.array([logit(s) for v, _ in groups for s, _ in v])
    y = np.array([c for v, _ in groups for _, c in v], float)
    u = np.array([wt / len(v) for v, wt in groups for _ in v])
    u /= u.sum()
    a, b = 1.0, 0.0
    for _ in range(100):
        q = 1 / (1 + np.exp(-(a * x + b)))
        g, w = u * (q - y), u * q * (1 - q)
        ga, gb = (g * x).sum(), g.sum()
        h11, h12, h22 = (w * x * x).sum() + 1e-12, (w * x).sum(), w.sum() + 1e-12
        det = h11 * h22 - h12 * h12
        a -= (h22 * ga - h12 * gb) / det
        b -= (h11 * gb - h12 * ga) / det
    return a, b


def mapped(ab, pairs):
    a, b = ab
    return [(1 / (1 + math.exp(-(a * logit(s) + b))), c) for s, c in pairs]


def groups(answers_by_split, weight, skip=None):
    return [(v, weight) for k, v in answers_by_split.items() if k != skip]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loso-dir", required=True, help="a `bench/loso.py --keep` folder")
    ap.add_argument("--measured", required=True, help="train-only fit (`train --measured-out`)")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--binary", "--bin", default=loso.default_binary(),
                    help="dispatch-tagger binary (default: $DISPATCH_TAGGER_BIN, else "
                         "$CARGO_TARGET_DIR/release/dispatch-tagger, else %(default)s)")
    args = ap.parse_args()
    loso_dir, corpora = Path(args.loso_dir), Path(args.data) / "corpora"
    loso = {}
    for split in sorted(loso_dir.glob("*-dev.jsonl.gz")):
        src = split.name.removesuffix("-dev.jsonl.gz")
        model = loso_dir / f"without-{src}.dtm"
        if model.exists():
            loso[src] = answers(args.binary, model, split)
    if not loso:
        sys.exit(f"{loso_dir}: no without-SRC.dtm next to a SRC-dev.jsonl.gz")
    dev = {s: answers(args.binary, args.measured, corpora / f"{s}-dev.jsonl.gz") for s in DEV}
    whole = fit(groups(loso, 1.0))
    blend = fit(groups(loso, 1.0 / len(loso)) + groups(dev, 1.0 / len(dev)))
    print(f"map fitted on every leave-one-source-out answer: a={whole[0]:.3f} b={whole[1]:.3f}; "
          f"on both kinds: a={blend[0]:.3f} b={blend[1]:.3f}")
    print(f"{'answers':<26} {'n':>5} {'raw ECE':>8} {'map 1/2':>8} {'map 3':>8}")
    for src, v in loso.items():
        own = fit(groups(loso, 1.0, skip=src))
        print(f"{'left out: ' + src:<26} {len(v):>5} {ece(v):>8.3f} {ece(mapped(own, v)):>8.3f} "
              f"{ece(mapped(blend, v)):>8.3f}")
    for src, v in dev.items():
        print(f"{'dev: ' + src:<26} {len(v):>5} {ece(v):>8.3f} {ece(mapped(whole, v)):>8.3f} "
              f"{ece(mapped(blend, v)):>8.3f}")
    print("map 1/2: left-out rows use a map fitted on the other sources' left-out answers (1), "
          "dev rows the map of every left-out answer (2); map 3: the blend")
    return 0


if __name__ == "__main__":
    sys.exit(main())
