"""``vidclear build-engine MODEL --opt HxW``: a TensorRT engine for this GPU."""

from __future__ import annotations

import argparse

from ..arg_types import positive_int
from ..exit_codes import EXIT_OK

NAME = "build-engine"
HELP = "build a TensorRT engine for a model"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    bd = sub.add_parser(NAME, parents=[common], help=HELP)
    bd.add_argument("model", help="model name")
    bd.add_argument("--min", help="smallest frame HxW (default: --opt)")
    bd.add_argument("--opt", required=True, help="frame HxW the engine is tuned for, e.g. 480x640")
    bd.add_argument("--max", help="largest frame HxW (default: --opt)")
    bd.add_argument("--batch", type=positive_int, default=1, help="largest batch the engine takes (default %(default)s)")
    bd.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")


def run(args: argparse.Namespace) -> int:
    from ..backends.base import BackendOptions
    from ..backends.select import create_backend
    from ..config import TensorRTConfig
    from ..models.registry import get_model

    spec = get_model(args.model)
    trt_cfg = TensorRTConfig(min=args.min, opt=args.opt, max=args.max, build="auto")
    backend = create_backend("tensorrt", spec, "cuda", BackendOptions(None, args.batch, args.precision, "fp32", trt_cfg))
    print(backend.describe()["engine"])
    return EXIT_OK
