"""``vidclear export MODEL``: an ONNX file, checked against PyTorch."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import VidclearError
from ..exit_codes import EXIT_OK

NAME = "export"
HELP = "export a model to ONNX (checked against PyTorch)"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ex = sub.add_parser(NAME, parents=[common], help=HELP)
    ex.add_argument("model", help="model name")
    ex.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp32",
                    help="int8: static QDQ quantization for ONNX Runtime on CPU, calibrated on training images")
    ex.add_argument("-o", "--output", type=Path, help="ONNX path (default: engines/NAME-PRECISION-HASH.onnx)")


def run(args: argparse.Namespace) -> int:
    from ..export.onnx_export import export_onnx
    from ..models.registry import get_model

    spec = get_model(args.model)
    if args.output is not None and args.output.suffix.lower() != ".onnx":
        raise VidclearError(f"output {args.output}: an ONNX file's name ends in .onnx")
    if args.output is not None and not args.output.parent.is_dir():
        raise VidclearError(f"output directory does not exist: {args.output.parent}")
    print(export_onnx(spec, args.output, args.precision))
    return EXIT_OK
