#!/usr/bin/env python3
"""Leave-one-source-out: how the tagger does on a feed it never saw.

For each topic source of a recipe (a split name without -train/-dev:
"bbc-en", "wcep-en"; the holdout's dev name, e.g. "reuters-en-dev", counts
as that source's dev split), in one run on this machine:

  1. ours: a temporary recipe = the recipe with that source's train and dev
     splits removed from [topics] train/dev, and its entries removed from
     the per-source settings under [topics] (positive_only, desk
     adapt_scales, ...; a corpus name such as "masakhanews" goes only when
     no split of that corpus is left); [regions], [holdout] and [licences]
     stay as they are. `dispatch-tagger train --no-refit` on it (the
     recipe's refit on train + dev skipped, so ours learns from the other
     sources' training splits only, as scikit-learn does below), then
     `dispatch-tagger eval --json` on the held-out source's dev split cut to
     the topics it shares with the others (records whose single gold topic
     is among the labels the other sources' training splits have; a temp
     .jsonl.gz);
  2. scikit-learn trained the same way: TfidfVectorizer(sublinear_tf=True,
     unigrams, min_df=2, max_df=0.5) + LogisticRegression on title + text
     of the other sources' topic-labelled train and dev records (first
     topic; Reuters' economy-only gold as bench/peer_sklearn.py reads it:
     its topic-labelled records are plain economy examples), C from
     peer_sklearn's grid picked on the mean macro-F1 of the other sources'
     dev splits (positive-only sources left out of that mean) with the
     model fitted on their train splits (--peer-c C: that C, no grid);
     scored on the same records. Both sides use the other sources' dev
     splits for choices only and fit on their training splits.

Both report macro-F1 (over the labels in the held-out gold), top-1 accuracy
and ECE (top-1 probability against correctness, 10 equal-width bins, the
formula of `dispatch-tagger eval`).

Then, once per run, the acceptance line of the training cost: our whole
`train` on the recipe as shipped (with its refit on train + dev) against
scikit-learn uni+bigram TF-IDF + LR on the combined training data of all
the recipe's topic sources (bench/peer_sklearn.py's combined peer: its
vectorizer, C grid and rule,
fit = vectorize + fit at the chosen C, as bench/side_by_side.py reports it),
each in its own process under /usr/bin/time -v: wall and CPU seconds, peak
RSS. Targets: our train wall <= 0.5 x scikit-learn's, our peak < 1.5 GB.

Caveat: `train` fits one vocabulary (terms, IDF) over the [topics] and the
[regions] training splits, and [regions] is kept, so when Reuters or
OrangeSum is held out their training texts (not their dev texts, not their
topic labels) still shape the vocabulary.

    pip install -r bench/requirements-peers.txt
    cargo build --release
    python3 bench/loso.py [--recipe recipes/default.toml] [--data ../shared/data] \\
        [--binary BIN] [--sources a,b] [--quick] \\
        [--peer-c C] [--no-cost] [--json OUT] [--keep DIR]

--quick (CI smoke) narrows the topic sources to the three with the smallest
training files (MasakhaNEWS-en, MasakhaNEWS-fr, BBC on recipe 0.9.0),
holds out the smallest and skips the training-cost line: a check that the
pipeline runs, not the figures of a full run.

The full run trains the model once per source plus once for the cost line
and fits scikit-learn 3 times per source (the C grid) plus 3 times for the
cost line (its peak RSS is the whole process, C grid included); --peer-c C
fits scikit-learn once per source and once for the cost line, --no-cost
drops the cost line, --cost-only keeps only it. Recipe
1.0.0's nine sources took 32 minutes with --peer-c 100 --no-cost on 2
shared cores; --quick about 1 minute.
"""

import argparse
import gzip
import json
import math
import os
import re
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_sklearn as peer  # noqa: E402
from side_by_side import default_binary, timed  # noqa: E402

SUFFIXES = ("-train", "-dev", "-vocabulary")
VOCABULARY = "-vocabulary"  # read from the IPTC table, not a corpus file; never held out


# ---------------------------------------------------------------- recipe

def source_of(split, holdout):
    """"bbc-en-train" -> "bbc-en"; the holdout's dev name maps like a dev split."""
    for suf in SUFFIXES:
        if split.endswith(suf):
            return split[: -len(suf)]
    sys.exit(f"split {split!r} ends in neither -train nor -dev")


def corpus_of(source):
    """"masakhanews-fr" -> "masakhanews" (the records' `source` field)."""
    return source.rsplit("-", 1)[0]


def topic_sources(recipe):
    """Sources of the recipe's [topics] train and dev lists, in list order."""
    out = []
    for s in recipe["topics"]["train"] + recipe["topics"]["dev"]:
        src = source_of(s, recipe["holdout"])
        if src not in out:
            out.append(src)
    return out


def without_source(recipe, source):
    """A copy of the recipe with the source left out of [topics]."""
    r = json.loads(json.dumps(recipe))  # deep copy (TOML values are JSON values)
    t = r["topics"]
    t["train"] = [s for s in t["train"] if source_of(s, r["holdout"]) != source]
    t["dev"] = [s for s in t["dev"] if source_of(s, r["holdout"]) != source]
    left = {corpus_of(source_of(s, r["holdout"])) for s in t["train"] + t["dev"]}
    corpus = corpus_of(source)

    def gone(name):
        return name == source or (name == corpus and corpus not in left)

    def prune(table):
        for key in list(table):
            v = table[key]
            if key in ("train", "dev") and table is t:
                continue
            if isinstance(v, dict):
                if gone(key):
                    del table[key]
                else:
                    prune(v)
            elif isinstance(v, list) and all(isinstance(x, str) for x in v):
                table[key] = [x for x in v if not gone(x)]
            elif gone(key):
                del table[key]

    prune(t)
    r["name"] = f"{recipe['name']}-without-{source}"
    return r


BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(k):
    return k if BARE.match(k) else json.dumps(k, ensure_ascii=False)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {type(v).__name__}")


def toml_dumps(d):
    """TOML text of a recipe (tables as [a.b] headers); checked by reading it back."""
    lines = []

    def table(path, t):
        scalars = [(k, v) for k, v in t.items() if not isinstance(v, dict)]
        subs = [(k, v) for k, v in t.items() if isinstance(v, dict)]
        if path:
            lines.append("")
            lines.append("[" + ".".join(toml_key(p) for p in path) + "]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in scalars)
        for k, v in subs:
            table(path + [k], v)

    table([], d)
    text = "\n".join(lines) + "\n"
    if tomllib.loads(text) != d:
        sys.exit("internal error: the temporary recipe does not read back as written")
    return text


# ------------------------------------------------------------------ data

class Data:
    """Split reader with a cache; the holdout carve as `train` applies it."""

    def __init__(self, root, recipe):
        self.corpora = Path(root) / "corpora"
        self.holdout = recipe["holdout"]
        self.cache = {}

    def split(self, name):
        if name not in self.cache:
            h = self.holdout
            if name.endswith(VOCABULARY):
                recs = vocabulary_records(self.corpora.parent / "taxonomy" / "iptc_mediatopic_all.tsv",
                                          name.split("-")[1])
            elif name == h["dev_name"]:
                recs = [r for r in self.raw(h["file"]) if peer.held_out(r["id"], h["seed"], h["fraction"])]
            elif name == h["file"]:
                recs = [r for r in self.raw(h["file"]) if not peer.held_out(r["id"], h["seed"], h["fraction"])]
            else:
                recs = self.raw(name)
            self.cache[name] = recs
        return self.cache[name]

    def raw(self, file):
        key = ("file", file)
        if key not in self.cache:
            self.cache[key] = peer.read(self.corpora / f"{file}.jsonl.gz")
        return self.cache[key]

    def file_size(self, split):
        if split.endswith(VOCABULARY):
            return (self.corpora.parent / "taxonomy" / "iptc_mediatopic_all.tsv").stat().st_size
        h = self.holdout
        file = h["file"] if split == h["dev_name"] else split
        return (self.corpora / f"{file}.jsonl.gz").stat().st_size


def vocabulary_records(path, lang):
    """The IPTC vocabulary as topic records, as `train` reads an
    `iptc-<lang>-vocabulary` split: each concept under a top-level topic,
    its English name and definition, or its French name."""
    rows = [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8")][1:]
    rows = [c for c in rows if len(c) >= 6]
    parent = {c[0]: c[1].split(";")[0] for c in rows}
    top_level = {c[0] for c in rows if c[2] == "1"}

    def top(q):
        for _ in range(8):
            p = parent.get(q, "")
            if not p or p == q:
                break
            q = p
        return q

    out = []
    for c in rows:
        t = top(c[0])
        text = f"{c[3]}. {c[5]}" if lang == "en" else c[4]
        if t in top_level and text.strip():
            out.append({"id": f"iptc:{c[0]}-{lang}", "lang": lang, "source": "iptc", "title": "",
                        "text": text, "topics": [t], "labelled": ["topics"]})
    return out


def single(records):
    """Topic-labelled records with exactly one topic (peer_sklearn.topic_set's rule)."""
    return [r for r in records if "topics" in r["labelled"] and len(r["topics"]) == 1]


def labels_of(records):
    return sorted({t for r in records if "topics" in r["labelled"] for t in r["topics"]})


def write_jsonl_gz(path, records):
    """Deterministic gzip (mtime 0, no file name), like the data package."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        for r in records:
            gz.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))


# --------------------------------------------------------------- metrics

def ece(conf, correct, bins=10):
    """src/train/eval.rs `ece`: support-weighted |mean score - accuracy| per bin."""
    if len(conf) == 0:
        return 0.0
    sums = np.zeros((bins, 2))
    for s, c in zip(conf, correct):
        s = min(max(float(s), 0.0), 1.0)
        b = min(int(s * bins), bins - 1)
        sums[b, 0] += s
        sums[b, 1] += float(c)
    return float(np.abs(sums[:, 0] - sums[:, 1]).sum() / len(conf))


# ------------------------------------------------------------------ peer

def loso_vectorizer(ngram_max):
    return TfidfVectorizer(sublinear_tf=True, ngram_range=(1, ngram_max), min_df=2, max_df=0.5)


def peer_loso(train, devs, test, c_fixed, ngram_max):
    """scikit-learn on the other sources' training splits, C picked on
    their dev splits (or c_fixed); scored on `test`."""
    t0 = time.perf_counter()
    vec = loso_vectorizer(ngram_max)
    x = vec.fit_transform([peer.text_of(r) for r in train])
    ty = [r["topics"][0] for r in train]
    grid, fits = {}, {}
    if c_fixed is None and devs:
        xdevs = [(vec.transform([peer.text_of(r) for r in d]), [r["topics"][0] for r in d])
                 for d in devs.values()]
        for c in peer.C_GRID:
            fits[c] = LogisticRegression(C=c, max_iter=1000).fit(x, ty)
            grid[c] = float(np.mean([peer.score(y, fits[c].predict(xd))["macro_f1"] for xd, y in xdevs]))
        c = max(peer.C_GRID, key=lambda k: grid[k])  # first of equals, as the grid is ordered
    else:
        c = c_fixed if c_fixed is not None else 10.0
        fits[c] = LogisticRegression(C=c, max_iter=1000).fit(x, ty)
    clf = fits[c]
    p = clf.predict_proba(vec.transform([peer.text_of(r) for r in test]))
    top = p.argmax(axis=1)
    pred = clf.classes_[top]
    gold = [r["topics"][0] for r in test]
    s = peer.score(gold, list(pred))
    s["ece"] = ece(p[np.arange(len(test)), top], pred == np.array(gold))
    s.update({"C": c, "c_grid_dev_macro_f1": {str(k): v for k, v in grid.items()},
              "train_docs": len(train), "features": int(x.shape[1]),
              "seconds": time.perf_counter() - t0})
    return s


def cost_peer(args):
    """Child process of the cost line: peer_sklearn's combined uni+bigram model
    on every topic training split of the recipe; prints one JSON line."""
    recipe = tomllib.loads(Path(args.recipe).read_text())
    data = Data(args.data, recipe)
    positive_only = set(recipe["topics"].get("positive_only", []))
    cx, cy = [], []
    for s in recipe["topics"]["train"]:
        x, y = peer.topic_set(data.split(s))
        cx += x
        cy += y
    devs = {s: peer.topic_set(data.split(s)) for s in recipe["topics"]["dev"]
            if corpus_of(source_of(s, recipe["holdout"])) not in positive_only}
    devs = {k: v for k, v in devs.items() if v[0]}
    peer.NGRAM_MAX = 2
    res = peer.fit_topics(cx, cy, devs, [args.peer_c] if args.peer_c is not None else None)
    print(json.dumps({k: res[k] for k in ("C", "fit_seconds", "fit_cpu_seconds", "vectorize_seconds",
                                          "vectorize_cpu_seconds", "features", "train_docs")}))
    return 0


# ------------------------------------------------------------------ main

def fmt(x, spec=".4f"):
    return "" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="recipes/default.toml",
                    help="recipe whose [topics] train/dev lists give the sources (default: %(default)s)")
    ap.add_argument("--data", default="../shared/data", help="shared data folder (default: %(default)s)")
    ap.add_argument("--binary", "--bin", default=default_binary(),
                    help="dispatch-tagger binary (default: $DISPATCH_TAGGER_BIN, else "
                         "$CARGO_TARGET_DIR/release/dispatch-tagger, else %(default)s)")
    ap.add_argument("--sources", help="comma-separated sources to hold out (default: every topic source)")
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke: only the three smallest sources, the smallest held out, no cost line")
    ap.add_argument("--peer-c", type=float,
                    help="scikit-learn C for the leave-one-out fits (default: picked from "
                         f"{peer.C_GRID} on the other sources' dev splits)")
    ap.add_argument("--no-cost", action="store_true", help="skip the training-cost line")
    ap.add_argument("--cost-only", action="store_true",
                    help="only the training-cost line (with --peer-c C the peer fits once, at C)")
    ap.add_argument("--json", metavar="OUT", help="write every figure to this JSON file")
    ap.add_argument("--keep", metavar="DIR", help="keep the temporary recipes, models and splits here")
    ap.add_argument("--cost-peer", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cost_peer:
        return cost_peer(args)

    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    binary = Path(args.binary)
    if not binary.exists():
        sys.exit(f"{binary} missing: cargo build --release first")
    recipe = tomllib.loads(Path(args.recipe).read_text())
    data = Data(args.data, recipe)
    sources = topic_sources(recipe)
    if args.sources:
        wanted = [s.strip() for s in args.sources.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in sources]
        if unknown:
            sys.exit(f"not a topic source of {args.recipe}: {', '.join(unknown)} (sources: {', '.join(sources)})")
        held = wanted
    else:
        held = [s for s in sources if not any(x.endswith(VOCABULARY) and source_of(x, recipe["holdout"]) == s
                                              for x in recipe["topics"]["train"])]
    base = recipe  # the recipe the sources are left out of
    if args.quick:
        if args.sources:
            sys.exit("--quick picks its own sources; drop --sources")
        size = {s: sum(data.file_size(x) for x in recipe["topics"]["train"]
                       if source_of(x, recipe["holdout"]) == s) for s in sources}
        vocab = {source_of(x, recipe["holdout"]) for x in recipe["topics"]["train"] if x.endswith(VOCABULARY)}
        universe = sorted((s for s in sources if s not in vocab), key=lambda s: (size[s], s))[:3]
        for s in sources:
            if s not in universe and s not in vocab:
                base = without_source(base, s)
        base["name"] = recipe["name"]
        held = universe[:1]
    if args.cost_only:
        if args.quick or args.no_cost:
            sys.exit("--cost-only goes with neither --quick nor --no-cost")
        held = []
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="loso-"))
    work.mkdir(parents=True, exist_ok=True)
    positive_only = set(recipe["topics"].get("positive_only", []))
    print(f"loso: recipe {args.recipe} ({recipe['name']} {recipe['version']}), sources {', '.join(sources)}; "
          f"holding out {', '.join(held)}; load average {os.getloadavg()[0]:.1f}; work {work}", flush=True)

    if args.quick:
        print(f"quick: the topic head trains on {', '.join(universe)} only ([regions] unchanged); "
              "smoke figures, not the leave-one-source-out ones", flush=True)
    rows = []
    for src in held:
        r = without_source(base, src)
        if not r["topics"]["train"]:
            sys.exit(f"{src}: no training split left")
        train_others = [x for s in r["topics"]["train"] for x in single(data.split(s))]
        shared = labels_of([x for s in r["topics"]["train"] for x in data.split(s)])
        own_dev = [s for s in recipe["topics"]["dev"] if source_of(s, recipe["holdout"]) == src]
        if not own_dev:
            print(f"{src}: no dev split, skipped", flush=True)
            continue
        dev_all = [x for s in own_dev for x in single(data.split(s))]
        test = [x for x in dev_all if x["topics"][0] in shared]
        row = {"source": src, "dev_splits": own_dev, "dev_records": len(dev_all), "records": len(test),
               "shared_labels": sorted(set(shared) & {x["topics"][0] for x in dev_all}),
               "source_labels": labels_of(dev_all), "other_labels": shared,
               "train_splits": r["topics"]["train"], "dev_splits_used": r["topics"]["dev"]}
        if not test:
            print(f"{src}: no dev record with a topic the others have, skipped", flush=True)
            continue
        recipe_path = work / f"without-{src}.toml"
        recipe_path.write_text(toml_dumps(r))
        split_path = work / f"{own_dev[0]}.jsonl.gz"  # named like the dev split, never like the carve's file
        write_jsonl_gz(split_path, test)
        model = work / f"without-{src}.dtm"
        cpu = []
        with open(work / f"without-{src}.log", "w") as log:
            _, wall, rss = timed([binary, "train", "--recipe", recipe_path, "--out", model,
                                  "--data", args.data, "--no-refit"], cpu, stderr=log)
            out, _, _ = timed([binary, "eval", "--model", model, "--json", "--data", split_path], stderr=log)
        t = json.loads(out)["splits"][0]["topics"]
        if t["records"] != len(test):
            sys.exit(f"{src}: eval scored {t['records']} records, expected {len(test)}")
        row["ours"] = {"macro_f1": t["macro_f1"], "accuracy": t["accuracy"], "ece": t["ece"],
                       "train_seconds": wall, "train_cpu_seconds": cpu[0], "train_peak_mb": rss,
                       "labels": t["labels"]}
        devs = {s: single(data.split(s)) for s in r["topics"]["dev"]
                if corpus_of(source_of(s, recipe["holdout"])) not in positive_only}
        devs = {k: v for k, v in devs.items() if v}
        row["sklearn"] = peer_loso(train_others, devs, test, args.peer_c, 1)
        rows.append(row)
        o, k = row["ours"], row["sklearn"]
        print(f"{src}: n={len(test)} of {len(dev_all)}, shared {len(row['shared_labels'])} labels; "
              f"ours macro-F1 {o['macro_f1']:.4f} acc {o['accuracy']:.4f} ECE {o['ece']:.4f} "
              f"(train {wall:.0f} s, {rss:.0f} MB); sklearn C={k['C']:g} macro-F1 {k['macro_f1']:.4f} "
              f"acc {k['accuracy']:.4f} ECE {k['ece']:.4f} ({k['seconds']:.0f} s)", flush=True)

    cost = None
    if not (args.quick or args.no_cost):
        model = work / "full.dtm"
        cpu = []
        load0 = os.getloadavg()[0]
        with open(work / "full.log", "w") as log:
            _, wall, rss = timed([binary, "train", "--recipe", args.recipe, "--out", model,
                                  "--data", args.data], cpu, stderr=log)
        pcpu = []
        peer_args = [] if args.peer_c is None else ["--peer-c", str(args.peer_c)]
        out, pwall, prss = timed([sys.executable, Path(__file__).resolve(), "--cost-peer",
                                  "--recipe", args.recipe, "--data", args.data, *peer_args], pcpu)
        p = json.loads(out.strip().splitlines()[-1])
        pfit = p["fit_seconds"] + p["vectorize_seconds"]
        pfit_cpu = p["fit_cpu_seconds"] + p["vectorize_cpu_seconds"]
        cost = {"ours": {"train_seconds": wall, "train_cpu_seconds": cpu[0], "peak_mb": rss},
                "sklearn_unibigram": {**p, "fit_total_seconds": pfit, "fit_total_cpu_seconds": pfit_cpu,
                                      "process_seconds": pwall, "process_cpu_seconds": pcpu[0], "peak_mb": prss},
                "wall_ratio": wall / pfit, "cpu_ratio": cpu[0] / pfit_cpu,
                "wall_ratio_target": 0.5, "peak_mb_target": 1536,
                "load_average_before": load0, "load_average_after": os.getloadavg()[0]}

    total = time.perf_counter() - t_start
    print()
    print(f"{'held-out source':<18} {'records':>9} {'shared':>6} | {'ours mF1':>8} {'acc':>6} {'ECE':>6} | "
          f"{'sk mF1':>8} {'acc':>6} {'ECE':>6} {'sk C':>5} | bars: mF1 >= sk, ECE < 0.05")
    for row in rows:
        o, k = row["ours"], row["sklearn"]
        print(f"{row['source']:<18} {row['records']:>4}/{row['dev_records']:<4} {len(row['shared_labels']):>6} | "
              f"{o['macro_f1']:>8.4f} {o['accuracy']:>6.4f} {o['ece']:>6.4f} | "
              f"{k['macro_f1']:>8.4f} {k['accuracy']:>6.4f} {k['ece']:>6.4f} {k['C']:>5g} | "
              f"{'holds' if o['macro_f1'] >= k['macro_f1'] else 'MISSED'}, "
              f"{'holds' if o['ece'] < 0.05 else 'MISSED'}")
    if rows:
        mo = np.mean([r["ours"]["macro_f1"] for r in rows])
        mk = np.mean([r["sklearn"]["macro_f1"] for r in rows])
        print(f"{'mean':<18} {'':>9} {'':>6} | {mo:>8.4f} {'':>6} {'':>6} | {mk:>8.4f}")
    print("records = held-out dev records with a topic the other sources have / single-topic dev records; "
          "shared = labels of the held-out gold the others have; macro-F1 over the gold labels; "
          "ECE of the top-1 score, 10 bins")
    if cost:
        o, s = cost["ours"], cost["sklearn_unibigram"]
        print(f"train cost, {recipe['name']} {recipe['version']} on all sources: dispatch-tagger train "
              f"{o['train_seconds']:.1f} s wall ({o['train_cpu_seconds']:.1f} CPU s), peak {o['peak_mb']:.0f} MB "
              f"(target < 1536 MB: {'ok' if o['peak_mb'] < 1536 else 'MISSED'})")
        print(f"  scikit-learn uni+bigram combined (C={s['C']:g}, {s['train_docs']} docs, {s['features']} features): "
              f"vectorize + fit {s['fit_total_seconds']:.1f} s wall ({s['fit_total_cpu_seconds']:.1f} CPU s); "
              f"whole process {s['process_seconds']:.1f} s {'with the C grid' if args.peer_c is None else 'one fit'}, peak {s['peak_mb']:.0f} MB")
        print(f"  ratio ours / scikit-learn: {cost['wall_ratio']:.2f} wall "
              f"(target <= 0.5: {'ok' if cost['wall_ratio'] <= 0.5 else 'MISSED'}), {cost['cpu_ratio']:.2f} CPU; "
              f"load average {cost['load_average_before']:.1f} -> {cost['load_average_after']:.1f}")
    print(f"run {started}, {total:.0f} s wall")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"recipe": args.recipe, "recipe_name": recipe["name"], "recipe_version": recipe["version"],
             "sources": sources, "quick": args.quick, "trained_on": topic_sources(base), "held_out": held, "started": started, "run_seconds": total,
             "peer": {"vectorizer": "TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 1), min_df=2, max_df=0.5)",
                      "classifier": "LogisticRegression(max_iter=1000)",
                      "c_rule": "fixed" if args.peer_c is not None else f"grid {peer.C_GRID} on other sources' dev"},
             "rows": rows, "train_cost": cost}, indent=2))
    bad = [r["source"] for r in rows for s in ("ours", "sklearn") if not 0.0 <= r[s]["macro_f1"] <= 1.0]
    if bad:
        sys.exit(f"figures out of range: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
