#!/usr/bin/env python3
"""Is dispatch-tagger's dev macro-F1 different from scikit-learn's, or noise?

For each corpus, on its dev split: the embedded model's top topic (from
`dispatch-tagger classify`) against scikit-learn unigram TF-IDF +
LogisticRegression trained on that corpus alone, C picked on the same dev
split (bench/peer_sklearn.py's peer, so the best single-corpus peer of the
side-by-side table). A paired bootstrap resamples the dev stories with
replacement and recomputes both macro-F1s (over the labels in the dev gold)
on each resample.

    pip install -r bench/requirements-peers.txt
    cargo build --release
    python3 bench/paired_bootstrap.py [--data ../shared/data] [--corpus masakhanews-fr] \
        [--resamples 2000] [--seed 0] [--briefs [--write-briefs DIR]]

--briefs scores both systems on briefs of the dev stories instead: the
title plus the lead of the text (the first paragraph of 60 characters or
more, its sentences up to 120 characters), the shape of a wire brief or an
AG News item. The peer is the same model, trained and tuned on whole
stories; the cutter here is not the one training uses (src/text/mod.rs
`lead`), so the model is not scored on the briefs it was taught.
--write-briefs DIR also saves them as DIR/<split>.jsonl.gz, for
`dispatch-tagger eval --data DIR/*.jsonl.gz` (ECE, per-label figures).

Prints per corpus both macro-F1s, the mean difference (ours - peer) with its
95% interval, the share of resamples where ours is at least as good, and
how many stories each system misses.
"""

import argparse
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_sklearn as peer  # noqa: E402
from side_by_side import default_binary  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-ZÀ-Þ"«])')


def brief_of(r):
    """The record cut to its title and lead (see --briefs)."""
    paragraphs = r["text"].strip().split("\n")
    first = next((p for p in paragraphs if len(p.strip()) >= 60), paragraphs[0]).strip()
    lead = ""
    for sentence in SENTENCE_END.split(first):
        lead = (lead + " " + sentence).strip()
        if len(lead) >= 120:
            break
    return {**r, "text": lead[:400]}


def ours_top(binary: Path, records):
    """The embedded model's top topic per record (None when it tags none)."""
    lines = [json.dumps(r) for r in records]
    out = subprocess.run(
        [str(binary), "classify"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    top = {}
    for line in out.splitlines():
        p = json.loads(line)
        top[p["id"]] = p["topics"][0]["code"] if p.get("topics") else None
    return [top.get(r["id"]) for r in records]


def macro(y, p, labels):
    return f1_score(y, p, labels=labels, average="macro", zero_division=0)


# The whole-article corpora with a per-corpus peer (the four of the side-by-side's first table).
CORPORA = ["bbc-en", "masakhanews-fr", "masakhanews-en", "orangesum-fr"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--binary", "--bin", default=default_binary(),
                    help="dispatch-tagger binary (default: $DISPATCH_TAGGER_BIN, else "
                         "$CARGO_TARGET_DIR/release/dispatch-tagger, else %(default)s)")
    ap.add_argument("--corpus", action="append", choices=CORPORA,
                    help="corpus to compare (repeatable; default: all four)")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--briefs", action="store_true",
                    help="score title + lead of each dev story (see above)")
    ap.add_argument("--write-briefs", metavar="DIR",
                    help="with --briefs, also save them as DIR/<split>.jsonl.gz")
    args = ap.parse_args()
    corpora = args.corpus or CORPORA
    data = Path(args.data) / "corpora"
    peer.NGRAM_MAX = 1
    print("note: the embedded model is refitted on train + dev (`refit_with_dev`), so its dev figures are "
          "in-sample; pass --binary with a build embedding a `train --measured-out` model for a fair test",
          flush=True)

    print(f"{'dev split':<20} {'ours':>6} {'peer':>6} {'C':>5} {'diff':>7} "
          f"{'95% interval':>17} {'P(ours>=peer)':>14} {'misses':>13}")
    for corpus in corpora:
        train = [r for r in peer.read(data / f"{corpus}-train.jsonl.gz")
                 if "topics" in r["labelled"] and len(r["topics"]) == 1]
        dev = [r for r in peer.read(data / f"{corpus}-dev.jsonl.gz")
               if "topics" in r["labelled"] and len(r["topics"]) == 1]
        dx, dy = [peer.text_of(r) for r in dev], [r["topics"][0] for r in dev]
        best = peer.fit_topics([peer.text_of(r) for r in train],
                               [r["topics"][0] for r in train], {corpus: (dx, dy)})
        if args.briefs:
            dev = [brief_of(r) for r in dev]
            dx = [peer.text_of(r) for r in dev]
            if args.write_briefs:
                Path(args.write_briefs).mkdir(parents=True, exist_ok=True)
                with gzip.open(Path(args.write_briefs) / f"{corpus}-dev.jsonl.gz", "wt") as f:
                    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in dev)
        theirs = np.array(best["clf"].predict(best["vec"].transform(dx)))
        ours = np.array([t or "none" for t in ours_top(Path(args.binary), dev)])
        y = np.array(dy)
        labels = sorted(set(dy))
        rs = np.random.RandomState(args.seed)
        diffs = []
        for _ in range(args.resamples):
            i = rs.randint(0, len(y), len(y))
            diffs.append(macro(y[i], ours[i], labels) - macro(y[i], theirs[i], labels))
        diffs = np.array(diffs)
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        print(f"{corpus + '-dev':<20} {macro(y, ours, labels):6.3f} "
              f"{macro(y, theirs, labels):6.3f} {best['C']:5g} {diffs.mean():+7.3f} "
              f"[{lo:+.3f}, {hi:+.3f}] {(diffs >= 0).mean():14.3f} "
              f"{int((ours != y).sum()):>5} / {int((theirs != y).sum()):<5}")
    print("diff = ours - peer macro-F1, mean over resamples; misses = ours / peer"
          + ("; dev stories cut to title + lead" if args.briefs else ""))


if __name__ == "__main__":
    main()
