"""``vidclear eval MODEL DATASET``: score a model with the published protocol."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..exit_codes import EXIT_OK

NAME = "eval"
LEGIBILITY_ONLY = ("scale", "degradation", "strings", "models")  # options that mean nothing to a model's eval
HELP = ("score a model (super-resolution and low-light by the published protocol, denoise against non-local "
        "means), or run the legibility benchmark (eval legibility)")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ev = sub.add_parser(NAME, parents=[common], help=HELP)
    ev.add_argument("model", help="model name, or 'legibility' for the OCR benchmark")
    ev.add_argument("dataset", type=Path, nargs="?",
                    help="folder of ground-truth images (e.g. ../shared/data/sr/set5); not for legibility")
    ev.add_argument("--json", action="store_true",
                    help="print the result as one JSON object, alone on stdout (the table then goes to stderr)")
    # Their defaults are run_legibility's; None here means "not given", so a model's eval can refuse them.
    leg = ev.add_argument_group("legibility")
    leg.add_argument("--scale", type=int, choices=(2, 3, 4),
                     help="upscaling factor; the strings are downscaled by it (default 3)")
    leg.add_argument("--degradation", choices=("clean", "camera"),
                     help="camera: blur, sensor noise and H.264 at 400 kb/s; clean: MATLAB bicubic only "
                          "(default camera)")
    leg.add_argument("--strings", type=int,
                     help="strings rendered, spread over the text heights (default 240, 30 per height)")
    leg.add_argument("--seed", type=int, default=0,
                     help="legibility strings, or the noise of eval denoise (default %(default)s)")
    leg.add_argument("--models", help="comma-separated SR models (default: every SR model of that scale)")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..evaluation.run import evaluate

    given = {name: getattr(args, name) for name in LEGIBILITY_ONLY if getattr(args, name) is not None}
    if args.model == "legibility":
        from ..evaluation.legibility import legibility_table, run_legibility

        if args.dataset is not None:
            raise ConfigError(f"eval legibility renders its own strings and takes no dataset (got {args.dataset})")
        if "models" in given:
            given["models"] = given["models"].split(",")
        if "strings" in given:
            given["count"] = given.pop("strings")
        report = run_legibility(seed=args.seed, **given)
        show(legibility_table(report), report, args.json)
        return EXIT_OK
    if given:
        flags = ", ".join(f"--{name}" for name in given)
        raise ConfigError(f"{flags}: only for 'eval legibility'; eval {args.model} takes its scale from the model "
                          "and its protocol from the model's task")
    if args.dataset is None:
        raise ConfigError("eval MODEL DATASET: give the folder of ground-truth images")
    result = evaluate(args.model, args.dataset, args.seed)
    show(result.table(), result.as_json(), args.json)
    return EXIT_OK


def show(table: str, record: dict, as_json: bool) -> None:
    """The table for a person; with --json, stdout is the JSON alone (so `| jq` and json.loads read it whole)
    and the table still reaches whoever watches the terminal, on stderr."""
    if as_json:
        print(table, file=sys.stderr)
        print(json.dumps(record))
    else:
        print(table)
