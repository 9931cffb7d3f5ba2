#!/usr/bin/env python3
"""dispatch-tagger next to scikit-learn on the same train/dev splits, in one run.

Runs, in this order and on this machine:
  1. `dispatch-tagger train --recipe recipes/default.toml` under /usr/bin/time
     (wall time, peak RSS), unless --no-train (then the embedded model is used);
  2. `dispatch-tagger eval --json` on every shared dev split (and the Reuters
     dev carve, scored from reuters-en-train), then `classify` for latency
     and throughput;
  3. bench/peer_sklearn.py twice, unigrams and uni+bigrams (TfidfVectorizer +
     LogisticRegression per corpus and one combined model; the uni+bigram
     run also fits a one-vs-rest region model), under /usr/bin/time;
  4. bench/peer_fasttext.py (per corpus, 25 epochs, bigrams, lr tuned on dev);
and prints one table: per dev split accuracy, macro-F1 and micro-F1 of
every system (and our ECE), then per system fit time, peak memory, model
size, single-document latency and batch throughput.

    pip install -r bench/requirements-peers.txt
    cargo build --release
    python3 bench/side_by_side.py [--data ../shared/data] [--no-train] [--quick]

--quick (used by CI) checks that the pipeline still works: it skips the
training and the scikit-learn peer and only evaluates the embedded model.

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
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path("target/release/dispatch-tagger")
CROSS = [("recipes/cross-bbc.toml", "bbc-en-dev", "masakhanews-en-dev"),
         ("recipes/cross-orangesum.toml", "orangesum-fr-dev", "masakhanews-fr-dev")]
DEV = ["bbc-en-dev", "masakhanews-en-dev", "masakhanews-fr-dev", "orangesum-fr-dev"]


def timed(cmd, cpu=None, **kw):
    """Runs cmd under GNU time; returns (stdout, wall seconds, peak MB); the
    CPU seconds (user + system) go into `cpu` when it is a list."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *cmd],
                              stdout=subprocess.PIPE, text=True, **kw)
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
    model load subtracted: latency = (wall of 201 copies of the first
    document - wall of 1) / 200; throughput = documents / (batch wall - wall of 1)."""
    src = corpora / "masakhanews-en-dev.jsonl.gz"
    with gzip.open(src, "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    one, many = work / "one.jsonl", work / "many.jsonl"
    one.write_text(lines[0], encoding="utf-8")
    many.write_text(lines[0] * 201, encoding="utf-8")
    run = lambda p: timed([BIN, "classify", *model_args, "--input", p], stderr=subprocess.DEVNULL)[1]
    t1, t201, tn = run(one), run(many), run(src)
    return max(t201 - t1, 1e-6) / 200, len(lines) / max(tn - t1, 1e-3)


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

    # system -> fit s, peak MB, model bytes, one-doc s, docs/s
    systems = {}
    model_args = []
    model_path = Path("models/default.dtm")
    if not (args.no_train or args.quick):
        model_path = work / "model.dtm"
        cpu = []
        _, wall, rss = timed([BIN, "train", "--recipe", args.recipe, "--out", model_path,
                              "--data", args.data], cpu)
        model_args = ["--model", str(model_path)]
        systems["dispatch-tagger"] = {"fit": wall, "cpu": cpu[0], "rss": rss}
        print(f"dispatch-tagger train: {wall:.1f} s wall, {cpu[0]:.1f} s CPU, peak {rss:.0f} MB", flush=True)

    files = [corpora / f"{d}.jsonl.gz" for d in DEV] + [corpora / "reuters-en-train.jsonl.gz"]
    out, wall, _ = timed([BIN, "eval", *model_args, "--json", "--data", ",".join(map(str, files))])
    ours = {s["split"]: s for s in json.loads(out)["splits"]}
    print(f"dispatch-tagger eval: {wall:.1f} s wall for {sum(s['records'] for s in ours.values())} records",
          flush=True)
    latency, rate = speed(model_args, corpora, work)
    systems.setdefault("dispatch-tagger", {}).update(
        {"size": model_path.stat().st_size, "latency": latency, "rate": rate})

    skl, ft = {}, None
    if not args.quick:
        for n in (1, 2):
            pj = work / f"sklearn{n}.json"
            extra = ["--no-regions"] if n == 1 else []
            _, pwall, prss = timed([sys.executable, "bench/peer_sklearn.py", "--data", args.data,
                                    "--recipe", args.recipe, "--ngram-max", str(n), "--json", pj, *extra])
            skl[n] = json.loads(pj.read_text())
            c = skl[n]["combined"]
            systems[f"sklearn 1-{n}gram combined"] = {
                "fit": c["fit_seconds"] + c["vectorize_seconds"],
                "cpu": c.get("fit_cpu_seconds", 0) + c.get("vectorize_cpu_seconds", 0) or None,
                "rss": prss, "size": c["model_bytes"],
                "latency": c["latency_seconds"], "rate": c["docs_per_second"],
                "note": f"whole script {pwall:.0f} s (per-corpus fits, C grid{', regions' if n == 2 else ''})"}
        fj = work / "fasttext.json"
        _, fwall, frss = timed([sys.executable, "bench/peer_fasttext.py", "--data", args.data, "--json", fj])
        ft = json.loads(fj.read_text())
        per = [v for k, v in ft.items() if k.endswith("-dev")]
        m = ft.get("masakhanews-en-dev", per[0])
        systems["fastText per corpus"] = {
            "fit": sum(v["fit_seconds"] for v in per),
            "cpu": sum(v.get("fit_cpu_seconds", 0) for v in per) or None,
            "rss": frss, "size": m["model_bytes"],
            "latency": m["latency_seconds"], "rate": m["docs_per_second"],
            "note": f"fit = sum over corpora at the chosen lr; whole script {fwall:.0f} s (lr grid)"}

    print()
    print(f"{'dev split':<20} {'task':<8} {'system':<30} {'accuracy':>8} {'macroF1':>8} {'microF1':>8} {'ECE':>7}")
    for name in DEV + ["reuters-en-dev"]:
        s = ours.get(name)
        if s is None:
            sys.exit(f"eval gave no figures for {name}")
        c = name.removesuffix("-dev")
        for task in ("topics", "regions"):
            t = s.get(task)
            if not t:
                continue
            rows = [("dispatch-tagger (one model)", t["accuracy"], t["macro_f1"], t["micro_f1"], t.get("ece"))]
            if task == "topics":
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
                        rows.append((f"sklearn 1-{n}gram, combined", d["accuracy"], d["macro_f1"],
                                     d["accuracy"], None))
            else:
                g = s.get("gazetteer_regions")
                if g:
                    rows.append(("gazetteer lookup", g["accuracy"], g["macro_f1"], g["micro_f1"], None))
                if 2 in skl and name == "reuters-en-dev" and skl[2].get("regions"):
                    r = skl[2]["regions"]
                    rows.append(("sklearn one-vs-rest", None, r["macro_f1"], r["micro_f1"], None))
            for sysname, acc, mac, mic, ece in rows:
                print(f"{name:<20} {task:<8} {sysname:<30} {fmt(acc):>8} {fmt(mac):>8} {fmt(mic):>8} {fmt(ece):>7}")
    print()
    print(f"{'system':<30} {'fit s':>7} {'fit CPU s':>9} {'peak MB':>8} {'model MB':>9} {'1 doc ms':>9} {'docs/s':>8}")
    for name, v in systems.items():
        print(f"{name:<30} {fmt(v.get('fit'), '.1f'):>7} {fmt(v.get('cpu'), '.1f'):>9} {fmt(v.get('rss'), '.0f'):>8} "
              f"{fmt(v.get('size') and v['size'] / 1e6, '.1f'):>9} {fmt(v.get('latency') and v['latency'] * 1000, '.2f'):>9} "
              f"{fmt(v.get('rate'), '.0f'):>8}  {v.get('note', '')}")
    print("fit: dispatch-tagger = whole `train` (prepare, vectorize, topics with calibration, regions, dev "
          "tuning), both cores; scikit-learn = vectorize + fit of the combined topic model at the chosen C; "
          "fit CPU s = user + system seconds of all threads. 1 doc / docs/s: one thread, model load "
          "excluded, on masakhanews-en-dev.")
    if "sklearn 1-2gram combined" in systems and "fit" in systems["dispatch-tagger"]:
        ratio = systems["dispatch-tagger"]["fit"] / systems["sklearn 1-2gram combined"]["fit"]
        print(f"fit time ratio dispatch-tagger / scikit-learn uni+bigram: {ratio:.2f} wall (target <= 0.5)")
        a, b = systems["dispatch-tagger"].get("cpu"), systems["sklearn 1-2gram combined"].get("cpu")
        if a and b:
            print(f"  CPU-time ratio (less sensitive to other load on the machine): {a / b:.2f}")
    # Quick mode is CI's smoke check: figures must exist and be sane.
    bad = [n for n, s in ours.items()
           for t in (s.get("topics"), s.get("regions")) if t and not 0.0 <= t["macro_f1"] <= 1.0]
    if bad:
        sys.exit(f"figures out of range: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
