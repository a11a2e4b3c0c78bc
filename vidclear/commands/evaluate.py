"""``vidclear eval MODEL DATASET``: score a model with the published protocol."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..exit_codes import EXIT_OK

NAME = "eval"
HELP = "score a model with the published protocol"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ev = sub.add_parser(NAME, parents=[common], help=HELP)
    ev.add_argument("model", help="model name")
    ev.add_argument("dataset", type=Path, help="folder of ground-truth images (e.g. ../shared/data/sr/set5)")
    ev.add_argument("--json", action="store_true", help="end with one JSON object on the last line")


def run(args: argparse.Namespace) -> int:
    from ..evaluation.run import evaluate

    result = evaluate(args.model, args.dataset)
    print(result.table())
    if args.json:
        print(json.dumps(result.as_json()))
    return EXIT_OK
