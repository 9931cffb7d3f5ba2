#!/usr/bin/env python3
"""fastText supervised peer (25 epochs, word bigrams), one model per corpus.

Trains on each corpus's train split (topic-labelled records, top-1 topic
as the label; every corpus of the recipe's [topics] with a train and a dev
split, positive-only sources such as Reuters left out as in
bench/peer_sklearn.py), lr tuned on dev from a small grid (as scikit-learn's C is),
and prints dev top-1 accuracy and macro-F1 (over the labels present in the
dev gold), fit seconds, model size, single-document latency and batch
throughput per corpus.

Deterministic: thread=1, a fixed seed, and the training lines SHUFFLED with
a fixed seed. fastText reads its training file in order and decays lr
linearly; the shared corpora are sorted by id, i.e. grouped by class (BBC
ids are "bbc:business/011"), so an unshuffled file ends with one class and
the model learns mostly that one (BBC train accuracy 0.41, dev 0.37-0.47;
with several threads each starts at another offset, hence figures that
moved with the thread count).

    pip install -r bench/requirements-peers.txt   # fasttext-wheel
    python3 bench/peer_fasttext.py [--data ../shared/data] [--recipe recipes/default.toml] \
        [--json out.json] [--quick]
"""

import argparse
import gzip
import json
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import fasttext

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_sklearn import recipe_corpora  # noqa: E402

LR_GRID = [0.5, 1.0]
SEED = 20261129
TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)


def read(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def line_of(r):
    """Lowercased tokens, punctuation split off (fastText splits on spaces only)."""
    text = (r["title"] + " " + r["text"]) if r["title"] else r["text"]
    return " ".join(TOKEN.findall(text.lower()))


def top1(model, text):
    """Best label; the low-level call, as fasttext-wheel's predict() breaks
    on NumPy 2 (np.array(copy=False))."""
    return model.f.predict(text, 1, 0.0, "strict")[0][1].removeprefix("__label__")


def macro_f1(gold, pred):
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == p == label for g, p in zip(gold, pred))
        fp = sum(p == label and g != label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def speed(model, dev):
    """Median single-document latency (tokenising included) and batch docs/s."""
    one = []
    for r in dev[:50]:
        t0 = time.perf_counter()
        top1(model, line_of(r))
        one.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for r in dev:
        top1(model, line_of(r))
    return statistics.median(one), len(dev) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--recipe", default="recipes/default.toml")
    ap.add_argument("--lr-grid", default=",".join(map(str, LR_GRID)), help="learning rates tried (default: %(default)s)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--quick", action="store_true", help="bbc-en only, lr 0.5 only")
    args = ap.parse_args()
    corpora = Path(args.data) / "corpora"
    out = {}
    work = Path(tempfile.mkdtemp(prefix="peer-fasttext-"))
    corpora_list = recipe_corpora(tomllib.loads(Path(args.recipe).read_text()))[0]
    for c in corpora_list[:1] if args.quick else corpora_list:
        train = [r for r in read(corpora / f"{c}-train.jsonl.gz")
                 if "topics" in r["labelled"] and r["topics"]]
        dev = [r for r in read(corpora / f"{c}-dev.jsonl.gz")
               if "topics" in r["labelled"] and r["topics"]]
        lines = [f"__label__{r['topics'][0]} {line_of(r)}\n" for r in train]
        random.Random(SEED).shuffle(lines)
        path = work / f"{c}.txt"
        path.write_text("".join(lines), encoding="utf-8")
        gold = [r["topics"][0] for r in dev]
        dev_lines = [line_of(r) for r in dev]
        best = None
        for lr in [0.5] if args.quick else [float(x) for x in args.lr_grid.split(",")]:
            t0, c0 = time.perf_counter(), time.process_time()
            model = fasttext.train_supervised(str(path), epoch=25, wordNgrams=2, lr=lr, thread=1,
                                              seed=SEED, verbose=0)
            fit, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
            pred = [top1(model, t) for t in dev_lines]
            res = {"lr": lr, "accuracy": sum(g == p for g, p in zip(gold, pred)) / len(gold),
                   "macro_f1": macro_f1(gold, pred), "fit_seconds": fit,
                   "fit_cpu_seconds": fit_cpu}
            if best is None or res["macro_f1"] > best[0]["macro_f1"]:
                best = (res, model)
        res, model = best
        # What save_model writes, without writing ~800 MB: f32 input rows
        # (words + bigram buckets) and output rows (labels), dim each.
        res["model_bytes"] = 4 * model.dim * (len(model.words) + model.bucket + len(model.labels))
        res["latency_seconds"], res["docs_per_second"] = speed(model, dev)
        out[f"{c}-dev"] = res
        print(f"{c}-dev  lr {res['lr']}  accuracy {res['accuracy']:.4f}  macro-F1 {res['macro_f1']:.4f}  "
              f"fit {res['fit_seconds']:.1f} s  model {res['model_bytes'] / 1e6:.0f} MB  "
              f"one doc {res['latency_seconds'] * 1000:.2f} ms  batch {res['docs_per_second']:.0f} docs/s",
              flush=True)
    out["peak_rss_mb"] = peak_mb()
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
