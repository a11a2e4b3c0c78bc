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
    how = sv.add_mutually_exclusive_group()
    how.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                     help="run each camera as an actor on a Ray cluster (ADDRESS, else cluster.address, RAY_ADDRESS, "
                          "or a Ray started here); see docs/cluster.md")
    how.add_argument("--check", action="store_true",
                     help="check the config, the metrics port and the models' speed here, try each camera and each "
                          "rtsp:// output's server once, print what each camera sends, and exit (0: all answered, 1: "
                          "one did not, 2: a config mistake)")


def run(args: argparse.Namespace) -> int:
    if args.check:
        from ..serve.preflight import check_serve_config

        return check_serve_config(args.config)
    from ..serve.server import run_serve

    return run_serve(args.config, args.duration, args.ray)
