#!/usr/bin/env python3
"""A small dispatch-tagger client with grpcio.

    pip install -r requirements.txt && ./build.sh     # stubs into gen/
    python3 client.py classify ../../../../shared/examples/aleppo-fr.txt
    python3 client.py summarize ../../../../shared/examples/aleppo-fr.txt
    python3 client.py stream ../dispatches.jsonl      # one JSON object a line

`--addr` picks the server (default localhost:50051), `--gzip` compresses
requests (grpcio asks for compressed answers either way), `--timeout` sets the
call's deadline in seconds, `--language` gives the language hint ("fr" or
"en") and `--candidate-topics` the topic codes a desk files under
(comma-separated, e.g. medtop:04000000,medtop:11000000): topics are then
chosen among those only.
"""

import argparse
import json
import sys
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent / "gen"))
from dispatch.v1 import dispatch_pb2 as pb  # noqa: E402
from dispatch.v1 import dispatch_pb2_grpc as pb_grpc  # noqa: E402


def tags(tags):
    return ", ".join(f"{t.name} {t.score:.2f}" for t in tags)


def classify(stub, args, **call):
    text = Path(args.file).read_text(encoding="utf-8")
    answer = stub.Classify(pb.ClassifyRequest(
        id=Path(args.file).stem, text=text, language=args.language,
        candidate_topics=args.candidate_topics), **call)
    print(f"language: {answer.language}")
    print(f"topics:   {tags(answer.topics)}")
    print(f"regions:  {tags(answer.regions)}")
    print("places:   " + ", ".join(f"{p.name} ({p.mentions})" for p in answer.places))


def summarize(stub, args, **call):
    text = Path(args.file).read_text(encoding="utf-8")
    answer = stub.Summarize(
        pb.SummarizeRequest(id=Path(args.file).stem, text=text, language=args.language), **call
    )
    print(answer.summary)


def requests(args):
    """One ClassifyStreamRequest per JSON line, read as the stream is sent."""
    with open(args.file, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                r = json.loads(line)
                yield pb.ClassifyStreamRequest(
                    id=r.get("id", ""), title=r.get("title", ""),
                    text=r.get("text", ""), language=r.get("language", args.language),
                    candidate_topics=args.candidate_topics)


def stream(stub, args, **call):
    # grpcio sends the requests from its own thread as fast as HTTP/2 flow
    # control allows, while this loop reads the answers (in request order).
    for answer in stub.ClassifyStream(requests(args), **call):
        top = answer.topics[0].code if answer.topics else "-"
        region = answer.regions[0].code if answer.regions else "-"
        print(f"{answer.id}\t{answer.language}\t{top}\t{region}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["classify", "summarize", "stream"])
    parser.add_argument("file")
    parser.add_argument("--addr", default="localhost:50051")
    parser.add_argument("--gzip", action="store_true", help="compress requests with gzip")
    parser.add_argument("--timeout", type=float, help="deadline of the call, in seconds")
    parser.add_argument("--language", default="", help='language hint, "fr" or "en"')
    parser.add_argument("--candidate-topics", default="",
                        type=lambda codes: [c for c in codes.split(",") if c],
                        help="topic codes to choose among, comma-separated")
    args = parser.parse_args()

    call = {"timeout": args.timeout}
    if args.gzip:
        call["compression"] = grpc.Compression.Gzip
    with grpc.insecure_channel(args.addr) as channel:
        stub = pb_grpc.DispatchTaggerServiceStub(channel)
        try:
            {"classify": classify, "summarize": summarize, "stream": stream}[args.command](
                stub, args, **call)
        except grpc.RpcError as e:
            print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
