"""``vidclear serve CAMERAS.yaml``: many live cameras on one engine, with /metrics and /healthz."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..arg_types import positive_float

NAME = "serve"
HELP = "run many live cameras from one config"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sv = sub.add_parser(NAME, parents=[common], help=HELP)
    sv.add_argument("config", type=Path, help="YAML with cameras: (see configs/cameras.example.yaml)")
    sv.add_argument("--duration", type=positive_float, help="stop after this many seconds (default: until SIGTERM)")
    sv.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                    help="run each camera as an actor on a Ray cluster (ADDRESS, else cluster.address, RAY_ADDRESS, "
                         "or a Ray started here); see docs/cluster.md")


def run(args: argparse.Namespace) -> int:
    from ..serve.server import run_serve

    return run_serve(args.config, args.duration, args.ray)
