"""``vidclear bench``: speed and quality side by side, on one clip, in one run (``vidclear/bench.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..arg_types import positive_float, positive_int, report_file, write_report
from ..choices import PRESETS
from ..exit_codes import EXIT_OK

NAME = "bench"
HELP = "measure speed and quality side by side"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    bn = sub.add_parser(NAME, parents=[common], help=HELP)
    bn.add_argument("--clip", type=Path, help="input clip (default: the 640x360 traffic clip in ../shared/data)")
    bn.add_argument("--frames", type=positive_int, default=120, help="frames per measured row (default %(default)s)")
    bn.add_argument("--model", default="espcn-x3", help="model to measure (default %(default)s)")
    bn.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    bn.add_argument("--preset", default="ultrafast", choices=PRESETS, metavar="PRESET",
                    help="encoder preset for the end-to-end rows (live use wants the fastest)")
    bn.add_argument("--json", type=report_file, help="write the JSON report here")
    bn.add_argument("--markdown", type=report_file, help="write the markdown table here")
    bn.add_argument("--no-peers", action="store_true", help="skip OpenCV dnn_superres and bicubic")
    bn.add_argument("--capacity", action="store_true",
                    help="how many cameras playing the clip at its frame rate this box keeps up with (reuse off and auto)")
    bn.add_argument("--seconds", type=positive_float, default=10.0, help="--capacity: seconds per trial")
    bn.add_argument("--max-streams", type=positive_int, default=64, help="--capacity: try no more cameras than this")
    bn.add_argument("--config", type=Path, help="--capacity: YAML config for the cameras (live, batch, encoder, ...)")


def run(args: argparse.Namespace) -> int:
    from .. import bench

    if args.capacity:
        return run_capacity(args)

    report = bench.run_bench(args.clip or bench.default_clip(), args.frames, args.model, args.device, args.preset,
                             peers=not args.no_peers)
    print(bench.markdown(report))
    bench.write_reports(report, args.json, args.markdown)
    return EXIT_OK


def run_capacity(args: argparse.Namespace) -> int:
    import json

    from .. import bench
    from ..capacity import format_capacity
    from ..capacity import run_capacity as measure
    from ..config import load_config

    cfg = load_config(args.config, {"model": args.model, "device": args.device, "encoder.preset": args.preset})
    device = bench.machine_info(args.device).get("gpu") if args.device == "cuda" else None
    report = measure(args.clip or bench.default_clip(), cfg, args.seconds, device, args.max_streams)
    print(format_capacity(report))
    if args.json:
        write_report(args.json, json.dumps(report, indent=2))
    return EXIT_OK
