"""Command line: ``vidclear enhance|models|eval``.

Errors a user can cause print one line, ``vidclear: error: ...``, and exit 2;
``--debug`` adds the traceback. A failing stage is named; Ctrl-C exits 130 with
a playable output.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from .errors import StageFailed, VidclearError
from .secrets import RedactingFilter, redact

log = logging.getLogger("vidclear")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (rich's live display swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().replace("\n", " ")
        if record.levelno >= logging.WARNING:
            text = f"vidclear: {record.levelname.lower()}: {msg}"
        else:
            text = f"vidclear: {msg}"
        if record.exc_info and record.levelno >= logging.ERROR:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        return text


def setup_logging(quiet: bool, debug: bool, log_file: Optional[Path] = None) -> None:
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.INFO
    handler = logging.StreamHandler(_CurrentStderr())  # type: ignore[arg-type]
    handler.setFormatter(_Formatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("vidclear")
    root.handlers[:] = [handler]
    if log_file is not None:
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        file_handler.addFilter(RedactingFilter())
        file_handler.setLevel(logging.DEBUG)
        root.addHandler(file_handler)
        level = min(level, logging.INFO)
        handler.setLevel(logging.DEBUG if debug else logging.ERROR if quiet else logging.INFO)
    root.setLevel(level)
    root.propagate = False


def logging_options(in_command: bool) -> argparse.ArgumentParser:
    """--quiet, --debug and --log-file, taken before the command or after it.

    In a command's parser they default to "not given" (SUPPRESS): argparse lets a
    subparser's defaults overwrite what the main parser read, so otherwise
    ``vidclear --quiet enhance ...`` would silently lose its --quiet.
    """
    unset = {"default": argparse.SUPPRESS} if in_command else {}
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--quiet", action="store_true", help="print only errors", **unset)
    options.add_argument("--debug", action="store_true", help="verbose logs and tracebacks", **unset)
    options.add_argument("--log-file", type=Path, help="also write the log here (credentials redacted)", **unset)
    return options


def build_parser() -> argparse.ArgumentParser:
    common = logging_options(in_command=True)
    ap = argparse.ArgumentParser(
        prog="vidclear",
        description="Make surveillance video clearer: super-resolution and low-light enhancement.",
        parents=[logging_options(in_command=False)],
    )
    ap.add_argument("--version", action="version", version=f"vidclear {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    enh = sub.add_parser("enhance", parents=[common], help="enhance a video file")
    enh.add_argument("input", help="input video file, or a live URL (rtsp://, rtsps://, http://, /dev/video0)")
    enh.add_argument("output", help="output file (.mp4 .mkv .mov .ts), a segment pattern (rec/cam_%%Y%%m%%d_%%H%%M%%S.ts) "
                     "or rtsp:// URL to publish to")
    enh.add_argument("--config", type=Path, help="YAML config (see configs/)")
    enh.add_argument("--model", help="model name (see `vidclear models`)")
    enh.add_argument("--backend", help="backend name or auto (default)")
    enh.add_argument("--device", choices=("auto", "cpu", "cuda"))
    enh.add_argument("--crf", type=int, help="encoder quality, 0-51 (lower is better)")
    enh.add_argument("--preset", help="encoder preset, ultrafast .. veryslow")
    enh.add_argument("--codec", choices=("libx264", "libx265"), help="video encoder")
    enh.add_argument("--max-frames", type=int, help="stop after this many frames")
    enh.add_argument("--duration", type=float, help="stop after this many seconds (live sources)")
    enh.add_argument("--summary-json", type=Path, help="also write the summary as JSON here")

    mod = sub.add_parser("models", parents=[common], help="list the models")
    mod.add_argument("--json", action="store_true", help="print a JSON list")

    ex = sub.add_parser("export", parents=[common], help="export a model to ONNX (checked against PyTorch)")
    ex.add_argument("model", help="model name")
    ex.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp32",
                    help="int8: static QDQ quantization for ONNX Runtime on CPU, calibrated on training images")
    ex.add_argument("-o", "--output", type=Path, help="ONNX path (default: engines/NAME-PRECISION-HASH.onnx)")

    bd = sub.add_parser("build-engine", parents=[common], help="build a TensorRT engine for a model")
    bd.add_argument("model", help="model name")
    bd.add_argument("--min", help="smallest frame HxW (default: --opt)")
    bd.add_argument("--opt", required=True, help="frame HxW the engine is tuned for, e.g. 480x640")
    bd.add_argument("--max", help="largest frame HxW (default: --opt)")
    bd.add_argument("--batch", type=int, default=1)
    bd.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")

    sv = sub.add_parser("serve", parents=[common], help="run many live cameras from one config")
    sv.add_argument("config", type=Path, help="YAML with cameras: (see configs/cameras.example.yaml)")
    sv.add_argument("--duration", type=float, help="stop after this many seconds (default: until SIGTERM)")

    bn = sub.add_parser("bench", parents=[common], help="measure speed and quality side by side")
    bn.add_argument("--clip", type=Path, help="input clip (default: the 640x360 traffic clip in ../shared/data)")
    bn.add_argument("--frames", type=int, default=120)
    bn.add_argument("--model", default="espcn-x3")
    bn.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    bn.add_argument("--preset", default="ultrafast", help="encoder preset for the end-to-end rows (live use wants the fastest)")
    bn.add_argument("--json", type=Path, help="write the JSON report here")
    bn.add_argument("--markdown", type=Path, help="write the markdown table here")
    bn.add_argument("--no-peers", action="store_true", help="skip OpenCV dnn_superres and bicubic")

    be = sub.add_parser("backends", parents=[common], help="list the backends and whether each can run here")
    be.add_argument("--json", action="store_true", help="print a JSON list")

    ev = sub.add_parser("eval", parents=[common], help="score a model with the published protocol")
    ev.add_argument("model", help="model name")
    ev.add_argument("dataset", type=Path, help="folder of ground-truth images (e.g. ../shared/data/sr/set5)")
    ev.add_argument("--json", action="store_true", help="end with one JSON object on the last line")
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    setup_logging(args.quiet, args.debug, args.log_file)
    try:
        if args.command == "enhance":
            return cmd_enhance(args)
        if args.command == "models":
            return cmd_models(args)
        if args.command == "eval":
            return cmd_eval(args)
        if args.command == "backends":
            return cmd_backends(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "bench":
            return cmd_bench(args)
        if args.command == "serve":
            from .serve import run_serve

            return run_serve(args.config, args.duration)
        if args.command == "build-engine":
            return cmd_build_engine(args)
        parser.error(f"unknown command {args.command}")
    except StageFailed as e:
        print(f"vidclear: error: {one_line(redact(str(e)))}", file=sys.stderr)
        if args.debug:
            print(redact("".join(traceback.format_exception(e.error))), file=sys.stderr)
        return EXIT_USAGE if isinstance(e.error, VidclearError) else EXIT_FAILED
    except VidclearError as e:
        print(f"vidclear: error: {one_line(redact(str(e)))}", file=sys.stderr)
        if args.debug:
            print(redact(traceback.format_exc()), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("vidclear: error: interrupted", file=sys.stderr)
        return EXIT_SIGNAL["SIGINT"]
    return EXIT_OK


def one_line(text: str) -> str:
    return " ".join(text.split())


def cmd_enhance(args: argparse.Namespace) -> int:
    from .config import load_config
    from .enhance import run_enhance

    overrides = {
        "model": args.model,
        "backend": args.backend,
        "device": args.device,
        "max_frames": args.max_frames,
        "encoder.crf": args.crf,
        "encoder.preset": args.preset,
        "encoder.codec": args.codec,
    }
    cfg = load_config(args.config, overrides)
    outcome = run_enhance(args.input, args.output, cfg, show_progress=not args.quiet and sys.stderr.isatty(),
                          duration=args.duration)
    if not args.quiet:
        print(redact(outcome.report()))
    if args.summary_json:
        args.summary_json.write_text(redact(json.dumps(outcome.as_json(), indent=2)))
    if outcome.damage:
        print(f"vidclear: error: {redact(outcome.damage)}; wrote the {outcome.frames} frames before it to {args.output}",
              file=sys.stderr)
        return EXIT_USAGE
    if outcome.interrupted_by in EXIT_SIGNAL:
        # The output is finalised; skip the interpreter's slow teardown of torch and
        # ONNX Runtime (about a second) so Ctrl-C ends promptly.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_SIGNAL[outcome.interrupted_by])
    return EXIT_OK


def print_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = [tuple(header)] + [tuple(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(header))]
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip())


def cmd_models(args: argparse.Namespace) -> int:
    from .models.registry import all_models

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


def cmd_backends(args: argparse.Namespace) -> int:
    from .backends.select import backend_table

    rows = backend_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print_columns(
        ("backend", "device", "available", "version", "reason when unavailable"),
        [(r["backend"], r["device"], "yes" if r["available"] else "no", r["version"] or "-", r["reason"] or "")
         for r in rows],
    )
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation.run import evaluate

    result = evaluate(args.model, args.dataset)
    print(result.table())
    if args.json:
        print(json.dumps(result.as_json()))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .export.onnx_export import export_onnx
    from .models.registry import get_model

    spec = get_model(args.model)
    if args.output is not None and not args.output.parent.exists():
        raise VidclearError(f"output directory does not exist: {args.output.parent}")
    path = export_onnx(spec, args.output, args.precision)
    print(path)
    return EXIT_OK


def cmd_build_engine(args: argparse.Namespace) -> int:
    from .backends.base import BackendOptions
    from .backends.select import create_backend
    from .config import TensorRTConfig
    from .models.registry import get_model

    spec = get_model(args.model)
    trt_cfg = TensorRTConfig(min=args.min, opt=args.opt, max=args.max, build="auto")
    backend = create_backend("tensorrt", spec, "cuda", BackendOptions(None, args.batch, args.precision, "fp32", trt_cfg))
    print(backend.describe()["engine"])
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    report = bench.run_bench(args.clip or bench.DEFAULT_CLIP, args.frames, args.model, args.device, args.preset,
                             peers=not args.no_peers)
    print(bench.markdown(report))
    bench.write_reports(report, args.json, args.markdown)
    return EXIT_OK
