"""A process that embeds its share of a catalog, as a worker does: ``python -m
tests.worker.embed_child DATABASE_URL NAME LOG [--lease S] [--batch N] [--hang]``.

It opens the database, prints "ready", waits for a line on standard input (so that two of them
start together), then runs the shared embedding with the hash embedder, writing each text it
embeds to LOG (one JSON string a line, flushed at once) and its summary to standard output. With
``--hang`` it claims one batch and then blocks before embedding it, printing the claimed ids:
a worker caught mid-batch, for the test to kill.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from papertide.db import Database
from papertide.search.semantic.embedder import HashEmbedder
from papertide.worker.embedding import embed_shared


class LoggingEmbedder(HashEmbedder):
    def __init__(self, log):
        super().__init__(64)
        self.log = log

    def embed_documents(self, texts):
        for text in texts:
            self.log.write(json.dumps(text) + "\n")
        self.log.flush()
        return super().embed_documents(texts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("name")
    parser.add_argument("log")
    parser.add_argument("--lease", type=float, default=600)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--hang", action="store_true")
    args = parser.parse_args()
    database = Database(args.url)

    def hang(paper_ids: list[int]) -> None:
        print(json.dumps(paper_ids), flush=True)
        sys.stdin.readline()  # blocks: the test kills this process here, its batch claimed, not embedded

    print("ready", flush=True)
    sys.stdin.readline()
    with open(args.log, "w") as log:
        summary = embed_shared(database, LoggingEmbedder(log), args.name, size=args.batch,
                               lease=timedelta(seconds=args.lease), on_claim=hang if args.hang else None)
    print(summary.line(), flush=True)


if __name__ == "__main__":
    main()
