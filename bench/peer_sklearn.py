#!/usr/bin/env python3
"""scikit-learn peer for the dispatch-tagger model.

TfidfVectorizer(sublinear_tf=True, ngram_range=(1, N), min_df=2) +
LogisticRegression, N = --ngram-max (1 or 2), C tuned on dev from a small
grid (--c-grid; --combined-c-grid for the combined model, whose fits on the
large corpora are the slow part):

* one topic model per corpus, trained on that corpus's train split, for
  every corpus of the recipe's [topics] with a train and a dev split
  (Reuters and the other positive-only sources have one class: no model);
* ONE topic model on all topic-labelled training corpora of the recipe
  combined (Reuters minus the dev carve included; the IPTC vocabulary
  left out), C picked on the mean dev macro-F1 of the per-corpus splits;
* one region model (one-vs-rest, multi-label) on Reuters minus the carve,
  scored on the carve (same fraction/seed/hash as the recipe).

Prints macro-F1 (over the labels present in the dev gold) and top-1
accuracy per dev split, regions micro-F1, fit times and peak memory; for the
combined model also its pickled size, the median single-document latency
(vectorize + predict_proba of one text) and batch throughput on
masakhanews-en-dev.

    pip install -r bench/requirements-peers.txt
    python3 bench/peer_sklearn.py [--data ../shared/data] [--recipe recipes/default.toml] \
        [--ngram-max 1|2] [--no-regions] [--json out.json]

--cross is the generalization guard's peer: a model per source (BBC,
OrangeSum), C tuned on that source's own dev split only, scored on its own
dev split and on another source's (MasakhaNEWS-en, MasakhaNEWS-fr).
"""

import argparse
import gzip
import json
import pickle
import resource
import statistics
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

C_GRID = [1.0, 10.0, 100.0]
CROSS = [("bbc-en", "masakhanews-en"), ("orangesum-fr", "masakhanews-fr")]


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def held_out(rec_id: str, seed: int, fraction: float) -> bool:
    """Same rule as src/model/data.rs Carve::held_out."""
    return (fnv1a64(f"{seed}:{rec_id}".encode()) % 1_000_000) < fraction * 1_000_000


def read(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def text_of(r):
    return (r["title"] + "\n" + r["text"]) if r["title"] else r["text"]


def topic_set(records):
    recs = [r for r in records if "topics" in r["labelled"] and len(r["topics"]) == 1]
    return [text_of(r) for r in recs], [r["topics"][0] for r in recs]


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


NGRAM_MAX = 2


def vectorizer():
    return TfidfVectorizer(sublinear_tf=True, ngram_range=(1, NGRAM_MAX), min_df=2)


def score(y_true, y_pred):
    labels = sorted(set(y_true))
    return {
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
    }


def recipe_corpora(recipe):
    """(per-corpus sources, combined training files) of the recipe's
    [topics]: a source is per-corpus when it has a train and a dev split
    and is not positive-only; the combined files are every train split
    but the vocabulary."""
    t = recipe["topics"]
    positive_only = set(t.get("positive_only", []))
    trains = [x.removesuffix("-train") for x in t["train"] if x.endswith("-train")]
    devs = {x.removesuffix("-dev") for x in t["dev"]}
    per = [c for c in trains if c in devs and c.rsplit("-", 1)[0] not in positive_only]
    return per, [f"{c}-train" for c in trains]


def fit_topics(train_x, train_y, devs, grid=None):
    """Fits for each C of the grid; picks the C with the best mean dev macro-F1."""
    t0, c0 = time.perf_counter(), time.process_time()
    vec = vectorizer()
    xtr = vec.fit_transform(train_x)
    vec_s, vec_cpu = time.perf_counter() - t0, time.process_time() - c0
    xdevs = {name: (vec.transform(x), y) for name, (x, y) in devs.items()}
    best = None
    for c in grid or C_GRID:
        t1, c1 = time.perf_counter(), time.process_time()
        clf = LogisticRegression(C=c, max_iter=1000)
        clf.fit(xtr, train_y)
        fit_s, fit_cpu = time.perf_counter() - t1, time.process_time() - c1
        res = {name: score(y, clf.predict(x)) for name, (x, y) in xdevs.items()}
        mean = float(np.mean([r["macro_f1"] for r in res.values()]))
        if best is None or mean > best["mean_macro_f1"]:
            best = {"C": c, "mean_macro_f1": mean, "dev": res, "fit_seconds": fit_s,
                    "fit_cpu_seconds": fit_cpu, "clf": clf}
    best["vec"] = vec
    best["vectorize_seconds"] = vec_s
    best["vectorize_cpu_seconds"] = vec_cpu
    best["features"] = int(xtr.shape[1])
    best["train_docs"] = int(xtr.shape[0])
    return best


def speed(vec, clf, texts):
    """Pickled size (stop_words_ dropped, as scikit-learn advises before
    pickling), median one-document latency, batch documents/s."""
    vec.stop_words_ = None
    size = len(pickle.dumps((vec, clf), protocol=pickle.HIGHEST_PROTOCOL))
    one = []
    for t in texts[:50]:
        t0 = time.perf_counter()
        clf.predict_proba(vec.transform([t]))
        one.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    clf.predict_proba(vec.transform(texts))
    rate = len(texts) / (time.perf_counter() - t0)
    return {"model_bytes": size, "latency_seconds": statistics.median(one), "docs_per_second": rate}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--recipe", default="recipes/default.toml")
    ap.add_argument("--json")
    ap.add_argument("--ngram-max", type=int, choices=(1, 2), default=2)
    ap.add_argument("--no-regions", action="store_true")
    ap.add_argument("--combined-only", action="store_true", help="skip the per-corpus models")
    ap.add_argument("--c-grid", default=",".join(map(str, C_GRID)),
                    help="C values tried per corpus and for regions (default: %(default)s)")
    ap.add_argument("--combined-c-grid", help="C values tried for the combined model (default: --c-grid)")
    ap.add_argument("--cross", action="store_true",
                    help="train on one source, score on another, then exit")
    args = ap.parse_args()
    global NGRAM_MAX
    NGRAM_MAX = args.ngram_max
    C_GRID[:] = [float(c) for c in args.c_grid.split(",")]
    combined_grid = [float(c) for c in (args.combined_c_grid or args.c_grid).split(",")]
    corpora = Path(args.data) / "corpora"
    if args.cross:
        for own, other in CROSS:
            res = fit_topics(*topic_set(read(corpora / f"{own}-train.jsonl.gz")),
                             {f"{own}-dev": topic_set(read(corpora / f"{own}-dev.jsonl.gz"))})
            ox, oy = topic_set(read(corpora / f"{other}-dev.jsonl.gz"))
            o = score(oy, res["clf"].predict(res["vec"].transform(ox)))
            d = res["dev"][f"{own}-dev"]
            print(f"cross {own}-train C={res['C']:<6} {own}-dev accuracy={d['accuracy']:.4f} "
                  f"macro_f1={d['macro_f1']:.4f} {other}-dev accuracy={o['accuracy']:.4f} "
                  f"macro_f1={o['macro_f1']:.4f} fit={res['fit_seconds']:.1f}s", flush=True)
        return 0
    recipe = tomllib.loads(Path(args.recipe).read_text())
    seed, fraction = recipe["holdout"]["seed"], recipe["holdout"]["fraction"]
    out = {"per_corpus": {}, "combined": None, "regions": None,
           "c_grid": C_GRID, "combined_c_grid": combined_grid}
    per, combined_files = recipe_corpora(recipe)
    h = recipe["holdout"]

    devs, trains, carve = {}, {}, []
    for f in combined_files:
        c = f.removesuffix("-train")
        recs = read(corpora / f"{f}.jsonl.gz")
        if f == h["file"]:
            trains[c] = topic_set([r for r in recs if not held_out(r["id"], seed, fraction)])
            carve = [r for r in recs if held_out(r["id"], seed, fraction)]
        else:
            trains[c] = topic_set(recs)
    for c in per:
        devs[f"{c}-dev"] = topic_set(read(corpora / f"{c}-dev.jsonl.gz"))
    reuters = read(corpora / "reuters-en-train.jsonl.gz")
    r_train = [r for r in reuters if not held_out(r["id"], seed, fraction)]
    r_dev = [r for r in reuters if held_out(r["id"], seed, fraction)]

    for c in [] if args.combined_only else per:
        res = fit_topics(*trains[c], {f"{c}-dev": devs[f"{c}-dev"]})
        del res["vec"], res["clf"]
        out["per_corpus"][c] = res
        d = res["dev"][f"{c}-dev"]
        print(f"per-corpus {c:<16} C={res['C']:<6} macro_f1={d['macro_f1']:.4f} "
              f"accuracy={d['accuracy']:.4f} fit={res['fit_seconds']:.1f}s "
              f"vectorize={res['vectorize_seconds']:.1f}s peak={peak_mb():.0f}MB", flush=True)

    cx, cy = [], []
    for x, y in trains.values():
        cx += x
        cy += y
    res = fit_topics(cx, cy, devs, combined_grid)
    # The holdout carve (reuters-en-dev) is scored, not used to pick C:
    # its gold is one class.
    vec, clf = res.pop("vec"), res.pop("clf")
    cvx, cvy = topic_set(carve)
    if cvx:
        res["dev"][h["dev_name"]] = score(cvy, clf.predict(vec.transform(cvx)))
    res.update(speed(vec, clf, devs["masakhanews-en-dev"][0]))
    out["combined"] = res
    for name, d in res["dev"].items():
        print(f"combined   {name:<20} C={res['C']:<6} macro_f1={d['macro_f1']:.4f} accuracy={d['accuracy']:.4f}")
    print(f"combined fit={res['fit_seconds']:.1f}s vectorize={res['vectorize_seconds']:.1f}s "
          f"docs={res['train_docs']} features={res['features']} peak={peak_mb():.0f}MB "
          f"model={res['model_bytes'] / 1e6:.0f}MB one-doc={res['latency_seconds'] * 1000:.2f}ms "
          f"batch={res['docs_per_second']:.0f}docs/s", flush=True)
    if args.no_regions:
        out["peak_rss_mb"] = peak_mb()
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))
        return 0

    # Regions: multi-label one-vs-rest on Reuters; selected = p >= 0.5, or the best label.
    tr = [r for r in r_train if "regions" in r["labelled"]]
    dv = [r for r in r_dev if "regions" in r["labelled"]]
    mlb = MultiLabelBinarizer()
    ytr = mlb.fit_transform([r["regions"] for r in tr])
    ydv = mlb.transform([r["regions"] for r in dv])
    vec = vectorizer()
    t0 = time.perf_counter()
    xtr = vec.fit_transform([text_of(r) for r in tr])
    xdv = vec.transform([text_of(r) for r in dv])
    best = None
    for c in C_GRID:
        t1 = time.perf_counter()
        clf = OneVsRestClassifier(LogisticRegression(C=c, max_iter=1000))
        clf.fit(xtr, ytr)
        fit_s = time.perf_counter() - t1
        p = clf.predict_proba(xdv)
        pred = (p >= 0.5).astype(int)
        for i in range(len(pred)):
            if pred[i].sum() == 0:
                pred[i, int(np.argmax(p[i]))] = 1
        micro = float(f1_score(ydv, pred, average="micro", zero_division=0))
        present = np.where(ydv.sum(axis=0) > 0)[0]
        macro = float(f1_score(ydv, pred, labels=present, average="macro", zero_division=0))
        if best is None or micro > best["micro_f1"]:
            best = {"C": c, "micro_f1": micro, "macro_f1": macro, "fit_seconds": fit_s}
    best["total_seconds"] = time.perf_counter() - t0
    out["regions"] = best
    print(f"regions    reuters-en-dev (carve {fraction}/{seed}, n={len(dv)}) C={best['C']} "
          f"micro_f1={best['micro_f1']:.4f} macro_f1={best['macro_f1']:.4f} fit={best['fit_seconds']:.1f}s "
          f"peak={peak_mb():.0f}MB", flush=True)
    out["peak_rss_mb"] = peak_mb()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
