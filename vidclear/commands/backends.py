"""``vidclear backends``: which backends can run here, and why not."""

from __future__ import annotations

import argparse

from ..exit_codes import EXIT_OK
from ..table import print_listing

NAME = "backends"
HELP = "list the backends and whether each can run here"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    be = sub.add_parser(NAME, parents=[common], help=HELP)
    be.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    from ..backends.select import backend_table

    rows = backend_table()
    print_listing(args.json, rows, ("backend", "device", "available", "version", "reason when unavailable"),
                  lambda r: (r["backend"], r["device"], "yes" if r["available"] else "no", r["version"] or "-",
                             r["reason"] or ""))
    if not args.json and rows and rows[0]["platform"]:
        print(f"platform: {rows[0]['platform']}")
    return EXIT_OK
