"""``vidclear models``: the model registry as a table or JSON."""

from __future__ import annotations

import argparse

from ..exit_codes import EXIT_OK
from ..table import print_listing

NAME = "models"
HELP = "list the models"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    mod = sub.add_parser(NAME, parents=[common], help=HELP)
    mod.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    from ..models.registry import all_models

    # what each is for, to choose by; the weights' paths and the rest are in --json
    print_listing(args.json, [m.describe() for m in all_models()],
                  ("name", "task", "scale", "params", "FLOPs/px", "what it is"),
                  lambda r: (r["name"], r["task"], f"x{r['scale']}", str(r["params"]),
                             str(r["flops_per_input_pixel"]), r["description"]))
    return EXIT_OK
