"""``vidclear models``: the model registry as a table or JSON."""

from __future__ import annotations

import argparse
import json

from ..exit_codes import EXIT_OK
from ..table import print_columns

NAME = "models"
HELP = "list the models"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    mod = sub.add_parser(NAME, parents=[common], help=HELP)
    mod.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    from ..models.registry import all_models

    rows = [m.describe() for m in all_models()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print_columns(
        ("name", "task", "scale", "params", "FLOPs/px", "weights"),
        [(r["name"], r["task"], f"x{r['scale']}", str(r["params"]), str(r["flops_per_input_pixel"]), r["weights"] or "-")
         for r in rows],
    )
    return EXIT_OK
