#!/usr/bin/env python3
"""dispatch-tagger next to scikit-learn and fastText on the same train/dev splits, in one run.

Covers every dev split of the recipe's [topics] (and the holdout carve,
reuters-en-dev, scored from reuters-en-train). Runs, in this order and on
this machine:
  1. `dispatch-tagger train --recipe R --out M --measured-out M0` under
     /usr/bin/time (wall time, CPU time, peak RSS): the whole shipped
     training, its refit on train + dev included (recipe 1.1.0
     refit_with_dev); M0 is the fit on the training splits only;
  2. `dispatch-tagger eval --json` of M0 on every dev split: M has seen dev,
     so its dev figures would be in-sample; M0's are the held-out ones.
     Also the briefs against their stories (short_long) per split, and
     each split again with `--candidate-topics` set to the topics its
     corpus's train split files under (what a desk with those sections
     would send as candidateTopics; the one-corpus peers know only those
     topics too); then `classify` for latency and throughput;
  3. bench/peer_sklearn.py twice, unigrams and uni+bigrams (TfidfVectorizer +
     LogisticRegression per corpus and one combined model; the uni+bigram
     run also fits a one-vs-rest region model), under /usr/bin/time;
  4. bench/peer_fasttext.py (per corpus, 25 epochs, bigrams, lr tuned on dev);
  5. bench/loso.py (leave-one-source-out, ours next to scikit-learn trained
     the same way; --no-loso skips it, --loso-peer-c fixes its C);
and prints one table: per dev split accuracy, macro-F1 and micro-F1 of
every system (and our ECE), the briefs against their stories, then per
system fit time, peak memory, model size, single-document latency and batch
throughput, and last the acceptance bars of issue 16 (dev macro-F1 at least
the scikit-learn unigram peer of that corpus, ECE under 0.05, train time at
most half of scikit-learn uni+bigram combined, peak under 1.5 GB), each
"holds" or "MISSED".

    pip install -r bench/requirements-peers.txt
    cargo build --release
    python3 bench/side_by_side.py [--data ../shared/data] [--bin BIN] [--no-train] [--quick]

The binary is --bin, else $DISPATCH_TAGGER_BIN, else
$CARGO_TARGET_DIR/release/dispatch-tagger, else target/release/dispatch-tagger.
The combined scikit-learn fits are the slow part (about 110,000 documents):
--combined-c-grid sets the C values they try (default 10, one fit each; the
per-corpus peers try --c-grid, default 1,10,100).

--quick (used by CI) checks that the pipeline still works: it skips the
training and the peers and only evaluates the embedded model, which was
refitted on train + dev: its dev figures are in-sample smoke checks.
--no-train does the same with the peers run.

--cross-source is the generalization guard: it trains the one-source recipes
(recipes/cross-bbc.toml, recipes/cross-orangesum.toml) one after the other
and scores each on its own dev split and on another source's
(BBC -> MasakhaNEWS-en, OrangeSum -> MasakhaNEWS-fr), then does the same
with scikit-learn unigram + LogisticRegression (bench/peer_sklearn.py
--cross, C tuned on the own dev split only), then exits.
"""

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path



def default_binary():
    """The release binary: $DISPATCH_TAGGER_BIN, else cargo's
    $CARGO_TARGET_DIR/release/dispatch-tagger, else ./target/release's."""
    if os.environ.get("DISPATCH_TAGGER_BIN"):
        return os.environ["DISPATCH_TAGGER_BIN"]
    if os.environ.get("CARGO_TARGET_DIR"):
        return str(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "dispatch-tagger")
    return "target/release/dispatch-tagger"


BIN = Path(default_binary())
CROSS = [("recipes/cross-bbc.toml", "bbc-en-dev", "masakhanews-en-dev"),
         ("recipes/cross-orangesum.toml", "orangesum-fr-dev", "masakhanews-fr-dev")]


def timed(cmd, cpu=None, echo=False, **kw):
    """Runs cmd under GNU time; returns (stdout, wall seconds, peak MB); the
    CPU seconds (user + system) go into `cpu` when it is a list. With echo
    the child's stdout goes to ours as it comes (and "" is returned)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *cmd],
                              stdout=None if echo else subprocess.PIPE, text=True, **kw)
        if proc.returncode != 0:
            sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}")
        t = tf.read()
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", t)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    if cpu is not None:
        cpu.append(sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1))
                       for k in ("User", "System")))
    return proc.stdout, h * 3600 + m * 60 + s, rss / 1024


def speed(model_args, corpora, work):
    """Single-document latency and batch throughput of `classify` (one
    thread, documents in turn) on masakhanews-en-dev, process start and
    model load subtracted: latency = (wall of 2,001 copies of the first
    document - wall of 1) / 2,000 (enough copies for the wall clock's
    hundredths of a second); throughput = documents / (batch wall - wall of 1)."""
    src = corpora / "masakhanews-en-dev.jsonl.gz"
    with gzip.open(src, "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    one, many = work / "one.jsonl", work / "many.jsonl"
    one.write_text(lines[0], encoding="utf-8")
    many.write_text(lines[0] * 2001, encoding="utf-8")
    run = lambda p: timed([BIN, "classify", *model_args, "--input", p], stderr=subprocess.DEVNULL)[1]
    t1, t2001, tn = run(one), run(many), run(src)
    return max(t2001 - t1, 1e-6) / 2000, len(lines) / max(tn - t1, 1e-3)


def cross_source(args, corpora, work):
    """Trains each one-source recipe and scores it in and out of its source."""
    print(f"{'recipe':<34} {'dev split':<22} {'accuracy':>9} {'macroF1':>8} {'ece':>7} {'fit s':>6}")
    for recipe, own, other in CROSS:
        model = work / (Path(recipe).stem + ".dtm")
        _, wall, _ = timed([BIN, "train", "--recipe", recipe, "--out", model, "--data", args.data],
                           stderr=subprocess.DEVNULL)
        out, _, _ = timed([BIN, "eval", "--model", model, "--json", "--data",
                           ",".join(str(corpora / f"{d}.jsonl.gz") for d in (own, other))])
        for s in json.loads(out)["splits"]:
            t = s["topics"]
            print(f"{recipe:<34} {s['split']:<22} {t['accuracy']:>9.4f} {t['macro_f1']:>8.4f} "
                  f"{t.get('ece', float('nan')):>7.4f} {wall:>6.1f}", flush=True)
    out, _, _ = timed([sys.executable, Path(__file__).with_name("peer_sklearn.py"), "--cross",
                       "--ngram-max", "1", "--data", args.data])
    for line in out.splitlines():
        m = re.match(r"cross (\S+)-train C=\S+ +(\S+) accuracy=(\S+) macro_f1=(\S+) "
                     r"(\S+) accuracy=(\S+) macro_f1=(\S+) fit=(\S+)s", line)
        if not m:
            continue
        own, own_dev, a1, f1, other_dev, a2, f2, fit = m.groups()
        for split, a, f in ((own_dev, a1, f1), (other_dev, a2, f2)):
            print(f"{'sklearn unigram, ' + own + ' only':<34} {split:<22} {float(a):>9.4f} "
                  f"{float(f):>8.4f} {'':>7} {float(fit):>6.1f}", flush=True)
    return 0


def fmt(x, spec=".4f"):
    return "" if x is None else format(x, spec)


def corpus_topics(corpora, name):
    """Topic codes the train split of a dev split's corpus files under."""
    codes = set()
    with gzip.open(corpora / f"{name.removesuffix('-dev')}-train.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            if "topics" in r.get("labelled", ["topics"]):
                codes.update(r.get("topics", []))
    return sorted(codes)


def candidates_eval(model_args, corpora, names, files):
    """Topic figures of each dev split with candidateTopics = its corpus's
    own topics (splits whose corpus has one topic only are left out)."""
    out = {}
    for name, f in zip(names, files):
        codes = corpus_topics(corpora, name)
        if len(codes) < 2:
            continue
        o, _, _ = timed([BIN, "eval", *model_args, "--json", "--candidate-topics", ",".join(codes),
                         "--data", str(corpora / f"{f}.jsonl.gz")])
        out[name] = json.loads(o)["splits"][0]["topics"]
    return out


def dev_splits(recipe):
    """The recipe's [topics] dev splits and the files `eval` reads for them
    (the holdout's dev name is scored from its source file)."""
    h = recipe.get("holdout", {})
    names = list(recipe["topics"]["dev"])
    files = [h["file"] if n == h.get("dev_name") else n for n in names]
    return names, files


def train_ours(args, work, systems):
    """Times the whole shipped `train` (refit included); returns the
    measured (train-only) model's path."""
    shipped, measured = work / "model.dtm", work / "model-measured.dtm"
    cpu = []
    load0 = os.getloadavg()[0]
    _, wall, rss = timed([BIN, "train", "--recipe", args.recipe, "--out", shipped,
                          "--measured-out", measured, "--data", args.data], cpu)
    systems["dispatch-tagger"] = {"fit": wall, "cpu": cpu[0], "rss": rss,
                                  "load": (load0, os.getloadavg()[0]),
                                  "size": shipped.stat().st_size}
    print(f"dispatch-tagger train (fit on train, dev measured, refit on train + dev): {wall:.1f} s wall, "
          f"{cpu[0]:.1f} s CPU, peak {rss:.0f} MB; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}",
          flush=True)
    return measured


def run_peers(args, work, systems):
    """scikit-learn unigram and uni+bigram, fastText; their JSON reports."""
    skl = {}
    for n in (2, 1):  # uni+bigram first: its combined fit is timed next to our train
        pj = work / f"sklearn{n}.json"
        extra = ["--no-regions"] if n == 1 else []
        load0 = os.getloadavg()[0]
        _, pwall, prss = timed([sys.executable, Path(__file__).with_name("peer_sklearn.py"), "--data", args.data,
                                "--recipe", args.recipe, "--ngram-max", str(n), "--json", pj,
                                "--c-grid", args.c_grid, "--combined-c-grid", args.combined_c_grid, *extra],
                               echo=True)
        skl[n] = json.loads(pj.read_text())
        c = skl[n]["combined"]
        systems[f"sklearn 1-{n}gram combined"] = {
            "fit": c["fit_seconds"] + c["vectorize_seconds"],
            "cpu": c.get("fit_cpu_seconds", 0) + c.get("vectorize_cpu_seconds", 0) or None,
            "rss": prss, "size": c["model_bytes"], "load": (load0, os.getloadavg()[0]),
            "latency": c["latency_seconds"], "rate": c["docs_per_second"],
            "note": f"C={c['C']:g}; whole script {pwall:.0f} s (per-corpus fits, C grids"
                    f"{', regions' if n == 2 else ''})"}
    fj = work / "fasttext.json"
    _, fwall, frss = timed([sys.executable, Path(__file__).with_name("peer_fasttext.py"), "--data", args.data,
                            "--recipe", args.recipe, "--lr-grid", args.fasttext_lr, "--json", fj], echo=True)
    ft = json.loads(fj.read_text())
    per = [v for k, v in ft.items() if k.endswith("-dev")]
    m = ft.get("masakhanews-en-dev", per[0])
    systems["fastText per corpus"] = {
        "fit": sum(v["fit_seconds"] for v in per),
        "cpu": sum(v.get("fit_cpu_seconds", 0) for v in per) or None,
        "rss": frss, "size": m["model_bytes"],
        "latency": m["latency_seconds"], "rate": m["docs_per_second"],
        "note": f"fit = sum over corpora at the chosen lr; whole script {fwall:.0f} s (lr grid)"}
    return skl, ft


def split_rows(name, task, s, skl, ft, cand):
    """Table rows (system, accuracy, macro-F1, micro-F1, ECE) of one split and task."""
    t = s[task]
    rows = [("dispatch-tagger (one model)", t["accuracy"], t["macro_f1"], t["micro_f1"], t.get("ece"))]
    c = name.removesuffix("-dev")
    if task == "topics":
        if name in cand:
            d = cand[name]
            rows.append(("  candidateTopics = corpus's", d["accuracy"], d["macro_f1"], d["micro_f1"], d["ece"]))
        for n, label in ((1, "sklearn unigram"), (2, "sklearn uni+bigram")):
            if n in skl and c in skl[n]["per_corpus"]:
                d = skl[n]["per_corpus"][c]["dev"][name]
                rows.append((f"{label}, this corpus", d["accuracy"], d["macro_f1"], d["accuracy"], None))
        if ft and name in ft:
            d = ft[name]
            rows.append(("fastText, this corpus", d["accuracy"], d["macro_f1"], d["accuracy"], None))
        for n in (1, 2):
            d = skl[n]["combined"]["dev"].get(name) if n in skl else None
            if d:
                rows.append((f"sklearn 1-{n}gram, combined", d["accuracy"], d["macro_f1"], d["accuracy"], None))
    else:
        g = s.get("gazetteer_regions")
        if g:
            rows.append(("gazetteer lookup", g["accuracy"], g["macro_f1"], g["micro_f1"], None))
        if 2 in skl and skl[2].get("regions") and name == "reuters-en-dev":
            r = skl[2]["regions"]
            rows.append(("sklearn one-vs-rest", None, r["macro_f1"], r["micro_f1"], None))
    return rows


def print_systems(systems):
    print(f"{'system':<30} {'fit s':>7} {'fit CPU s':>9} {'peak MB':>8} {'model MB':>9} {'1 doc ms':>9} {'docs/s':>8}")
    for name, v in systems.items():
        print(f"{name:<30} {fmt(v.get('fit'), '.1f'):>7} {fmt(v.get('cpu'), '.1f'):>9} {fmt(v.get('rss'), '.0f'):>8} "
              f"{fmt(v.get('size') and v['size'] / 1e6, '.1f'):>9} "
              f"{fmt(v.get('latency') and v['latency'] * 1000, '.2f'):>9} "
              f"{fmt(v.get('rate'), '.0f'):>8}  {v.get('note', '')}")
    print("fit: dispatch-tagger = whole `train` (prepare, vectorize, topics with calibration, regions, dev "
          "figures, refit on train + dev), both cores; scikit-learn = vectorize + fit of the combined topic "
          "model at the chosen C; fit CPU s = user + system seconds of all threads. 1 doc / docs/s: one "
          "thread, model load excluded, on masakhanews-en-dev.")


def bars(names, ours, skl, systems, cand):
    """Issue 16's acceptance bars on this run: one line each, holds or MISSED."""
    ok = lambda b: "holds" if b else "MISSED"
    print("\nissue 16 bars (ours = the train-only model on dev; second line: the same with "
          "candidateTopics = the corpus's own topics, which the one-corpus peer knows alone):")
    for name in names:
        t = ours[name]["topics"]
        c = name.removesuffix("-dev")
        peer = skl.get(1, {}).get("per_corpus", {}).get(c)
        if peer:
            p = peer["dev"][name]["macro_f1"]
            print(f"  {name:<20} macro-F1 {t['macro_f1']:.4f} vs sklearn unigram this corpus {p:.4f}: "
                  f"{ok(t['macro_f1'] >= p)}; ECE {t['ece']:.4f} < 0.05: {ok(t['ece'] < 0.05)}")
            if name in cand:
                d = cand[name]
                print(f"  {'':<20} candidateTopics: macro-F1 {d['macro_f1']:.4f}: {ok(d['macro_f1'] >= p)}; "
                      f"ECE {d['ece']:.4f} < 0.05: {ok(d['ece'] < 0.05)}")
        else:
            print(f"  {name:<20} macro-F1 {t['macro_f1']:.4f} (no single-corpus peer: one-class gold); "
                  f"ECE {t['ece']:.4f} < 0.05: {ok(t['ece'] < 0.05)}")
    o, k = systems.get("dispatch-tagger", {}), systems.get("sklearn 1-2gram combined")
    if k and "fit" in o:
        ratio = o["fit"] / k["fit"]
        print(f"  train time / sklearn uni+bigram combined: {ratio:.2f} wall ({o['cpu'] / k['cpu']:.2f} CPU), "
              f"target <= 0.5: {ok(ratio <= 0.5)}")
    if "rss" in o:
        print(f"  train peak {o['rss']:.0f} MB < 1536 MB: {ok(o['rss'] < 1536)}")


def loso(args, work):
    """Leave-one-source-out in the same invocation: bench/loso.py on the same
    recipe, data and binary (its own training-cost line skipped: the one
    above is the same measurement)."""
    print("\nleave-one-source-out (bench/loso.py): each source scored by models trained on the others",
          flush=True)
    cmd = [sys.executable, str(Path(__file__).with_name("loso.py")), "--recipe", args.recipe,
           "--data", args.data, "--binary", str(BIN), "--no-cost", "--json", str(work / "loso.json")]
    if args.loso_peer_c:
        cmd += ["--peer-c", args.loso_peer_c]
    subprocess.run(cmd, check=True)


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--recipe", default="recipes/default.toml")
    ap.add_argument("--bin", default=str(BIN), help="dispatch-tagger binary (default: %(default)s)")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--c-grid", default="1,10,100", help="scikit-learn C values per corpus")
    ap.add_argument("--combined-c-grid", default="10", help="scikit-learn C values of the combined models")
    ap.add_argument("--fasttext-lr", default="0.5,1.0", help="fastText learning rates tried per corpus")
    ap.add_argument("--json", type=Path, help="write every figure to this JSON file")
    ap.add_argument("--no-loso", action="store_true",
                    help="skip the leave-one-source-out run (bench/loso.py) at the end")
    ap.add_argument("--loso-peer-c", help="scikit-learn C of the leave-one-source-out peer (default: its grid)")
    ap.add_argument("--cross-source", action="store_true",
                    help="train the one-source recipes and score them on another source")
    args = ap.parse_args()
    BIN = Path(args.bin)
    if not BIN.exists():
        sys.exit(f"{BIN} missing: cargo build --release first (or --bin / $DISPATCH_TAGGER_BIN)")
    corpora = Path(args.data) / "corpora"
    work = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    if args.cross_source:
        return cross_source(args, corpora, work)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"side-by-side {started}, recipe {args.recipe}, binary {BIN}, work {work}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    # system -> fit s, peak MB, model bytes, one-doc s, docs/s
    systems = {}
    model_args = []
    if not (args.no_train or args.quick):
        model_args = ["--model", str(train_ours(args, work, systems))]
    else:
        print("embedded model: it was refitted on train + dev (refit_with_dev), so its dev figures are "
              "in-sample smoke checks, not held-out ones", flush=True)

    recipe = tomllib.loads(Path(args.recipe).read_text())
    names, files = dev_splits(recipe)
    out, wall, _ = timed([BIN, "eval", *model_args, "--json", "--data",
                          ",".join(str(corpora / f"{f}.jsonl.gz") for f in files)])
    ours = {s["split"]: s for s in json.loads(out)["splits"]}
    (work / "ours-eval.json").write_text(out)
    missing = [n for n in names if n not in ours or not ours[n].get("topics")]
    if missing:
        sys.exit(f"eval gave no topic figures for {', '.join(missing)}")
    print(f"dispatch-tagger eval: {wall:.1f} s wall for {sum(s['records'] for s in ours.values())} records",
          flush=True)
    cand = candidates_eval(model_args, corpora, names, files)
    latency, rate = speed(model_args, corpora, work)
    systems.setdefault("dispatch-tagger", {}).update({"latency": latency, "rate": rate})

    skl, ft = ({}, None) if args.quick else run_peers(args, work, systems)

    print()
    print(f"{'dev split':<20} {'task':<8} {'system':<30} {'accuracy':>8} {'macroF1':>8} {'microF1':>8} {'ECE':>7}")
    for name in names:
        for task in ("topics", "regions"):
            if ours[name].get(task):
                for row in split_rows(name, task, ours[name], skl, ft, cand):
                    print(f"{name:<20} {task:<8} {row[0]:<30} {fmt(row[1]):>8} {fmt(row[2]):>8} "
                          f"{fmt(row[3]):>8} {fmt(row[4]):>7}")
    print()
    print(f"{'dev split':<20} briefs (title + lead) against their stories: pairs, same top topic, "
          "top-1 accuracy brief / story")
    for name in names:
        a = ours[name].get("short_long")
        if a:
            print(f"{name:<20} {a['pairs']:>6} {a['same_top_topic']:>7.4f} "
                  f"{a['short_accuracy']:>7.4f} / {a['long_accuracy']:.4f}")
        else:
            print(f"{name:<20} no story longer than its brief")
    print()
    print_systems(systems)
    if not args.quick:
        bars(names, ours, skl, systems, cand)
    if not (args.quick or args.no_loso):
        loso(args, work)
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps({"started": started, "recipe": args.recipe, "ours": ours,
                                         "ours_candidate_topics": cand,
                                         "sklearn": skl, "fasttext": ft, "systems": systems}, indent=1))
    # Quick mode is CI's smoke check: figures must exist and be sane.
    bad = [n for n, s in ours.items()
           for t in (s.get("topics"), s.get("regions")) if t and not 0.0 <= t["macro_f1"] <= 1.0]
    bad += [n for n, t in cand.items() if not 0.0 <= t["macro_f1"] <= 1.0]
    if bad:
        sys.exit(f"figures out of range: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
