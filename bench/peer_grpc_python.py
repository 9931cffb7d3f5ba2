#!/usr/bin/env python3
"""Python peer for the load benchmark: a grpcio server for dispatch.v1 Classify.

scikit-learn TfidfVectorizer(sublinear_tf, 1-2 grams, min_df=2) +
LogisticRegression on the single-label topic records of the shared train
corpora, fitted at start-up. To keep start-up short it trains on a subset:
bbc-en-train, masakhanews-en-train, masakhanews-fr-train (orangesum has no
topic labels, Reuters is left out), at most --max-per-corpus records each.
Only Classify is implemented (topics; no regions, no places) — the peer exists
to compare serving throughput, not accuracy. Stubs are generated at run time
from proto/dispatch/v1/dispatch.proto into a temporary directory.

    pip install -r bench/requirements-peer-grpc.txt
    python3 bench/peer_grpc_python.py --port 50052 [--data ../shared/data] [--workers 16]

Prints "SERVING <port>" on stdout once it accepts calls.
"""

import argparse
import gzip
import json
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc
from grpc_tools import protoc
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ["bbc-en-train", "masakhanews-en-train", "masakhanews-fr-train"]


def generate_stubs(out_dir: str):
    proto_root = ROOT / "proto"
    rc = protoc.main([
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        str(proto_root / "dispatch" / "v1" / "dispatch.proto"),
    ])
    if rc != 0:
        sys.exit(f"protoc failed with {rc}")
    sys.path.insert(0, out_dir)
    from dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc  # noqa: E402
    return dispatch_pb2, dispatch_pb2_grpc


def load_topics(corpora: Path, max_per_corpus: int):
    xs, ys = [], []
    for name in CORPORA:
        n = 0
        with gzip.open(corpora / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if "topics" not in r.get("labelled", []) or len(r.get("topics", [])) != 1:
                    continue
                xs.append(f"{r.get('title', '')}\n{r.get('text', '')}")
                ys.append(r["topics"][0])
                n += 1
                if n >= max_per_corpus:
                    break
    return xs, ys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=50052)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--workers", type=int, default=16, help="grpc thread pool size")
    ap.add_argument("--max-per-corpus", type=int, default=5000)
    args = ap.parse_args()

    t0 = time.monotonic()
    tmp = tempfile.TemporaryDirectory(prefix="dispatch-pb-")
    pb2, pb2_grpc = generate_stubs(tmp.name)

    xs, ys = load_topics(Path(args.data) / "corpora", args.max_per_corpus)
    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    clf = LogisticRegression(C=10.0, max_iter=1000)
    clf.fit(vec.fit_transform(xs), ys)
    classes = list(clf.classes_)
    print(f"trained on {len(xs)} records ({', '.join(CORPORA)}), "
          f"{len(vec.vocabulary_)} terms, {len(classes)} topics in {time.monotonic() - t0:.1f}s",
          file=sys.stderr, flush=True)

    class Tagger(pb2_grpc.DispatchTaggerServiceServicer):
        def Classify(self, request, context):
            if not request.text.strip():
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "text is empty")
            probs = clf.predict_proba(vec.transform([f"{request.title}\n{request.text}"]))[0]
            k = request.max_topics or 3
            best = sorted(range(len(classes)), key=lambda i: -probs[i])[:k]
            topics = [pb2.Tag(code=classes[i], score=float(probs[i]))
                      for i in best if probs[i] >= request.min_score]
            return pb2.ClassifyResponse(id=request.id, language=request.language or "und",
                                        topics=topics, model_version="sklearn-peer")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    pb2_grpc.add_DispatchTaggerServiceServicer_to_server(Tagger(), server)
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"SERVING {args.port}", flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        pass
    server.stop(1)


if __name__ == "__main__":
    main()
