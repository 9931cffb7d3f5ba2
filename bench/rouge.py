#!/usr/bin/env python3
"""ROUGE of the service's extractive summarizer against Lead-k and sumy.

Run from the repository root after `cargo build --release`:

    pip install -r bench/requirements-rouge.txt
    python3 bench/rouge.py --quick          # 50 documents per corpus (CI)
    python3 bench/rouge.py                  # full dev splits

Corpora: bbcsum-en-dev (3 sentences; references are article sentences
chosen by centrality) and orangesum-fr-dev (2 sentences, the length chosen
for OrangeSum; abstract references). Peers: Lead-1/2/3, a lead matched per
document to the length of our summary (whole leading sentences up to our
character count, at least one), sumy TextRank, LexRank and LSA at the same
number of sentences, each with sumy's stemmer and stop-word list for the
language (its documented setup; sentences and words split by this script,
so no NLTK data is needed). Time is wall time per document; for dispatch-tagger the
process start and model load (measured on a one-document run) is taken off,
and the last column is our time divided by each sumy summarizer's. Scores are rouge-score F-measures x 100: English with its
default tokenizer and the Porter stemmer, French with a tokenizer that
lowercases and splits on every non letter/digit Unicode character (the
default one drops accented letters). `--split train` exists to check a
fitted setting on training data; never tune on dev.
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

from pathlib import Path

from rouge_score import rouge_scorer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import default_binary  # noqa: E402

# The shared corpora beside the repository (`--data` for another place).
DATA = str(Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "corpora")
CORPORA = [("bbcsum-en", "en", 3), ("orangesum-fr", "fr", 2)]
WORD = re.compile(r"[^\W_]+")


class FrenchTokenizer:
    """Lowercase, split on non letter/digit Unicode characters."""

    def tokenize(self, text):
        return WORD.findall(text.lower())


def scorer(lang):
    types = ["rouge1", "rouge2", "rougeL"]
    if lang == "fr":
        return rouge_scorer.RougeScorer(types, tokenizer=FrenchTokenizer())
    return rouge_scorer.RougeScorer(types, use_stemmer=True)


# Lead-k baseline sentences: paragraph breaks, a stop before a space and a
# capital, and OrangeSum's glued "jeudi.Le" (the datasheet's own rule).
SPLIT = re.compile(
    r"\n+|(?<=[.!?»\"])\s+(?=[\"«A-ZÀ-Þ0-9])|(?<=[a-zà-ÿ0-9][.!?])(?=[A-ZÀ-Þ][a-zà-ÿ'])"
)
ABBREV = re.compile(r"(?:\b(?:M|MM|Mme|Mlle|Dr|Mr|Mrs|Ms|St|Inc|Corp|Jan|Feb|[A-Z])\.)$")


def lead_sentences(text):
    out = []
    for piece in SPLIT.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if out and ABBREV.search(out[-1]):
            out[-1] = out[-1] + " " + piece
        else:
            out.append(piece)
    return out


def load(name, split, limit, data=DATA):
    path = os.path.join(data, f"{name}-{split}.jsonl.gz")
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("summary"):
                docs.append(rec)
            if limit and len(docs) >= limit:
                break
    return docs


def run_service(binary, docs, k, startup=0.0, max_chars=0):
    """Summaries from `dispatch-tagger summarize`; seconds per document
    with `startup` seconds (process start, model load) taken off."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
        for d in docs:
            rec = {"id": d["id"], "title": d["title"], "text": d["text"], "lang": d["lang"]}
            tmp.write(json.dumps(rec, ensure_ascii=False) + "\n")
        path = tmp.name
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [binary, "summarize", "--input", path, "--max-sentences", str(k)]
            + (["--max-chars", str(max_chars)] if max_chars else []),
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = max(time.perf_counter() - start - startup, 0.0)
    finally:
        os.unlink(path)
    by_id = {}
    for line in proc.stdout.splitlines():
        if line.strip():
            out = json.loads(line)
            by_id[out["id"]] = "\n".join(s["text"] for s in out.get("sentences", []))
    return [by_id.get(d["id"], "") for d in docs], elapsed / max(len(docs), 1)


def startup_seconds(binary, docs):
    """Fixed cost of one `summarize` process: the best of three one-document runs."""
    return min(run_service(binary, docs[:1], 1)[1] for _ in range(3))


def run_matched_lead(docs, ours):
    """Leading sentences up to the character count of our summary."""
    start = time.perf_counter()
    outs = []
    for d, hyp in zip(docs, ours):
        budget = len(hyp)
        picked, used = [], 0
        for s in lead_sentences(d["text"]):
            if picked and used + 1 + len(s) > budget:
                break
            picked.append(s)
            used += len(s) + (1 if len(picked) > 1 else 0)
        outs.append("\n".join(picked))
    return outs, (time.perf_counter() - start) / max(len(docs), 1)


def run_lead(docs, k):
    start = time.perf_counter()
    outs = ["\n".join(lead_sentences(d["text"])[:k]) for d in docs]
    return outs, (time.perf_counter() - start) / max(len(docs), 1)


class WordTokenizer:
    """sumy tokenizer without nltk data: our sentence and word regexes."""

    def __init__(self, lang):
        self.language = "french" if lang == "fr" else "english"

    def to_sentences(self, paragraph):
        return lead_sentences(paragraph)

    def to_words(self, sentence):
        return WORD.findall(sentence)


def run_sumy(kind, docs, k, lang):
    """sumy TextRank/LexRank/LSA, or None when sumy is not installed."""
    try:
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
        from sumy.nlp.stemmers import Stemmer
        from sumy.summarizers.lex_rank import LexRankSummarizer
        from sumy.summarizers.lsa import LsaSummarizer
        from sumy.summarizers.text_rank import TextRankSummarizer
        from sumy.utils import get_stop_words
    except ImportError:
        return None
    tok = WordTokenizer(lang)
    cls = {"textrank": TextRankSummarizer, "lexrank": LexRankSummarizer, "lsa": LsaSummarizer}[kind]
    try:
        summ = cls(Stemmer(tok.language))
    except Exception:  # stemmer needs nltk data for some languages
        summ = cls()
    # sumy's documented setup: its bundled stop-word list for the language.
    summ.stop_words = get_stop_words(tok.language)
    outs = []
    start = time.perf_counter()
    for d in docs:
        sents = [Sentence(s, tok) for s in lead_sentences(d["text"])]
        doc = ObjectDocumentModel([Paragraph(sents)])
        try:
            picked = summ(doc, k)
        except Exception:
            picked = sents[:k]
        outs.append("\n".join(str(s) for s in picked))
    return outs, (time.perf_counter() - start) / max(len(docs), 1)


def rouge(docs, outs, lang):
    sc = scorer(lang)
    tot = [0.0, 0.0, 0.0]
    for d, hyp in zip(docs, outs):
        r = sc.score(d["summary"], hyp)
        tot[0] += r["rouge1"].fmeasure
        tot[1] += r["rouge2"].fmeasure
        tot[2] += r["rougeL"].fmeasure
    n = max(len(docs), 1)
    return [100 * t / n for t in tot]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="50 documents per corpus (seconds; for CI)")
    ap.add_argument("--limit", type=int, default=0, help="documents per corpus (0 = all)")
    ap.add_argument("--split", default="dev", choices=["dev", "train"])
    ap.add_argument("--bin", "--binary", default=default_binary(),
                    help="service binary (default: $DISPATCH_TAGGER_BIN, else "
                         "$CARGO_TARGET_DIR/release/dispatch-tagger, else %(default)s)")
    ap.add_argument("--data", default=str(Path(DATA).parent), help="the shared data folder")
    ap.add_argument("--no-sumy", action="store_true", help="skip sumy TextRank/LexRank/LSA")
    ap.add_argument(
        "--max-chars",
        type=int,
        default=0,
        help="also cap our summaries at this many characters (whole sentences; compare with 'Lead, our length')",
    )
    args = ap.parse_args()
    limit = args.limit or (50 if args.quick else 0)
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` from the repository root")

    rows = []
    for name, lang, k in CORPORA:
        docs = load(name, args.split, limit, os.path.join(args.data, "corpora"))
        ours = run_service(args.bin, docs, k, startup_seconds(args.bin, docs), args.max_chars)
        systems = [(f"Lead-{j}", run_lead(docs, j)) for j in (1, 2, 3)]
        systems.append(("Lead, our length", run_matched_lead(docs, ours[0])))
        systems.append(("dispatch-tagger", ours))
        if not args.no_sumy:
            for kind in ("textrank", "lexrank", "lsa"):
                res = run_sumy(kind, docs, k, lang)
                if res is not None:
                    systems.append((f"sumy {kind}", res))
        mean_chars = sum(len(h) for h in ours[0]) / max(len(docs), 1)
        cap = f" and {args.max_chars} characters" if args.max_chars else ""
        print(f"{name}-{args.split}: dispatch-tagger at {k} sentences{cap}, {mean_chars:.0f} characters on average")
        for system, (outs, secs) in systems:
            r1, r2, rl = rouge(docs, outs, lang)
            ratio = ours[1] / secs if system.startswith("sumy") and secs > 0 else None
            rows.append((f"{name}-{args.split}", len(docs), k, system, r1, r2, rl, secs * 1000, ratio))

    print(f"{'corpus':<20} {'docs':>5} {'k':>2}  {'system':<17} {'R1':>6} {'R2':>6} {'RL':>6} {'ms/doc':>8} {'ours/it':>8}")
    for corpus, n, k, system, r1, r2, rl, ms, ratio in rows:
        r = f"{ratio:8.4f}" if ratio is not None else " " * 8
        print(f"{corpus:<20} {n:>5} {k:>2}  {system:<17} {r1:>6.2f} {r2:>6.2f} {rl:>6.2f} {ms:>8.3f} {r}")

if __name__ == "__main__":
    main()
