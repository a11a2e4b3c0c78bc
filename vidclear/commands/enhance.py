"""``vidclear enhance INPUT OUTPUT``: one file or camera into one output."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import get_args

from ..arg_types import positive_float, report_file, start_seconds, write_report
from ..choices import CODECS, PRESETS, DeinterlaceMode
from ..exit_codes import EXIT_OK, EXIT_SIGNAL, EXIT_USAGE
from ..secrets import redact

NAME = "enhance"
HELP = "enhance a video file or a live camera"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    enh = sub.add_parser(NAME, parents=[common], help=HELP)
    enh.add_argument("input", help="input video file, or a live URL (rtsp://, rtsps://, http://, /dev/video0)")
    enh.add_argument("output", help="output file (.mp4 .mkv .mov .ts), a segment pattern "
                     "(rec/cam_%%Y%%m%%d_%%H%%M%%S.ts), an rtsp:// URL to publish to, or a picture (.png .jpg) "
                     "of one frame")
    add_settings_flags(enh)
    add_excerpt_flags(enh)
    enh.add_argument("--summary-json", type=report_file, help="also write the summary as JSON here")


def add_excerpt_flags(parser: argparse.ArgumentParser, each: bool = False) -> None:
    """--start and --duration: the part of a recording to enhance (enhance; batch, of ``each`` file)."""
    where = "into each file" if each else "in, from a file"
    parser.add_argument("--start", type=start_seconds, default=0.0, metavar="S",
                        help=f"begin S seconds {where} (the excerpt's timestamps begin at 0)")
    parser.add_argument("--duration", type=positive_float, metavar="S",
                        help="this many seconds of each file (from --start)" if each else
                             "from a file: this many seconds of it (from --start); from a camera: stop after this long")


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """The enhancement settings, shared by every command that enhances files (enhance, batch)."""
    parser.add_argument("--config", type=Path, help="YAML config (see configs/)")
    parser.add_argument("--model", help="model name (see `vidclear models`)")
    parser.add_argument("--backend", help="backend name or auto (default)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--crf", type=int, help="encoder quality, 0-51 (lower is better)")
    parser.add_argument("--preset", choices=PRESETS, metavar="PRESET", help="encoder preset, ultrafast .. veryslow")
    parser.add_argument("--codec", choices=CODECS,
                        help="video encoder (auto: NVENC when it opens here, else libx264)")
    parser.add_argument("--reuse", choices=("off", "auto"),
                        help="recompute only the tiles that changed (fixed cameras)")
    parser.add_argument("--night", choices=("off", "on", "auto"),
                        help="the low-light model before the model: always, only while dark (auto), or never")
    parser.add_argument("--denoise", metavar="MODEL",
                        help="a denoiser run after the low-light model in night mode (e.g. denoise)")
    parser.add_argument("--crop", metavar="X,Y,W,H",
                        help="only this region of the input, in its pixels (e.g. a plate lane: 640,360,320,180)")
    parser.add_argument("--deinterlace", choices=get_args(DeinterlaceMode),
                        help="interlaced input: the frames flagged interlaced (auto, default), every frame (on), "
                             "every field as a frame of its own (fields: twice the frame rate), or none")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")


SETTINGS_FLAGS = {"--model": "model", "--backend": "backend", "--device": "device", "--max-frames": "max_frames",
                  "--deinterlace": "deinterlace", "--crop": "crop",
                  "--reuse": "reuse.mode", "--night": "lowlight.mode", "--denoise": "lowlight.denoise",
                  "--crf": "encoder.crf", "--preset": "encoder.preset", "--codec": "encoder.codec"}


def load_settings(args: argparse.Namespace, more: dict[str, str] | None = None):  # noqa: ANN201 - a Config
    """The config file, with the flags of ``add_settings_flags`` (and a command's ``more``: flag -> dotted key)
    over it.

    Flags go through the config's validation, so ``--parallel 0`` is refused in the
    same one line as ``parallel: 0`` in the YAML, naming the flag.
    """
    from ..config import load_config

    flags = {**SETTINGS_FLAGS, **(more or {})}
    overrides = {key: getattr(args, flag.removeprefix("--").replace("-", "_")) for flag, key in flags.items()}
    return load_config(args.config, overrides, flags={key: flag for flag, key in flags.items()})


def run(args: argparse.Namespace) -> int:
    from ..engine.run import run_enhance

    cfg = load_settings(args)
    outcome = run_enhance(args.input, args.output, cfg, show_progress=not args.quiet and sys.stderr.isatty(),
                          duration=args.duration, start=args.start)
    if not args.quiet:
        print(redact(outcome.report()))
    if args.summary_json:
        write_report(args.summary_json, redact(json.dumps(outcome.as_json(), indent=2)))
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
