"""``vidclear bench``: speed and quality side by side, on one clip, in one run (``vidclear/bench.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exit_codes import EXIT_OK

NAME = "bench"
HELP = "measure speed and quality side by side"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    bn = sub.add_parser(NAME, parents=[common], help=HELP)
    bn.add_argument("--clip", type=Path, help="input clip (default: the 640x360 traffic clip in ../shared/data)")
    bn.add_argument("--frames", type=int, default=120)
    bn.add_argument("--model", default="espcn-x3")
    bn.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    bn.add_argument("--preset", default="ultrafast", help="encoder preset for the end-to-end rows (live use wants the fastest)")
    bn.add_argument("--json", type=Path, help="write the JSON report here")
    bn.add_argument("--markdown", type=Path, help="write the markdown table here")
    bn.add_argument("--no-peers", action="store_true", help="skip OpenCV dnn_superres and bicubic")


def run(args: argparse.Namespace) -> int:
    from .. import bench

    report = bench.run_bench(args.clip or bench.DEFAULT_CLIP, args.frames, args.model, args.device, args.preset,
                             peers=not args.no_peers)
    print(bench.markdown(report))
    bench.write_reports(report, args.json, args.markdown)
    return EXIT_OK
