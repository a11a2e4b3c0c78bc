"""``vidclear batch INPUTS... -o OUTDIR``: many files with the same settings as enhance, resumable."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from ..arg_types import auto_or_positive_int
from ..exit_codes import EXIT_FAILED, EXIT_OK, EXIT_SIGNAL
from ..table import print_columns
from .enhance import add_excerpt_flags, add_settings_flags, load_settings

NAME = "batch"
HELP = "enhance many files (folders, globs, @list.txt) into a folder; run again to resume"

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[common], help=HELP)
    p.add_argument("inputs", nargs="+", help="video files, folders (mirrored below OUTDIR), globs, or @list.txt")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR",
                   help="folder for the outputs and the journal (vidclear-batch.jsonl)")
    p.add_argument("--ext", help="output container (mp4 mkv mov ts); default: the input's, else mkv "
                   "(a .png or .jpg input gives a picture)")
    p.add_argument("--parallel", type=auto_or_positive_int,
                   help="files at once on this machine (default auto: one per core, at least 2)")
    p.add_argument("--retries", type=int, help="times a failed file is tried again by later runs (default 2)")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run one task per file on a Ray cluster (ADDRESS, else cluster.address, RAY_ADDRESS, or a "
                        "Ray started here)")
    add_settings_flags(p)
    add_excerpt_flags(p, each=True)


def _row(result: dict) -> list[str]:
    done = result["status"] in ("done", "skipped")
    return [Path(result["input"]).name, result["status"], str(result.get("frames", 0)) if done else "",
            f"{result['fps']:.1f}" if result["status"] == "done" and result.get("fps") else "",
            (result.get("node") or "")[:12], "" if done else (result.get("reason") or "")]


def run(args: argparse.Namespace) -> int:
    from ..archive.inputs import find_jobs
    from ..archive.runner import Stopped, run_batch

    cfg = load_settings(args, {"--parallel": "archive.parallel", "--retries": "archive.retries"})
    use_ray = args.ray is not None
    address = args.ray or cfg.cluster.address
    if use_ray:
        from ..archive.on_ray import import_ray

        import_ray()  # one clear line now, not after the inputs are listed
    jobs = find_jobs(args.inputs, args.output, args.ext, args.start, args.duration)
    start = time.perf_counter()
    try:
        results = run_batch(jobs, cfg, args.output, address, use_ray, show_progress=not args.quiet
                            and sys.stderr.isatty())
    except Stopped as e:
        print(f"vidclear: batch stopped by {e.signame}: finished files are in the journal; run the same command "
              "again to resume", file=sys.stderr)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_SIGNAL[e.signame])
    wall = time.perf_counter() - start
    failed = [r for r in results if r["status"] not in ("done", "skipped")]
    if not args.quiet:
        header = ["file", "status", "frames", "fps", "node", "reason"]
        rows = [_row(r) for r in results]
        if not use_ray:
            header, rows = header[:4] + header[5:], [r[:4] + r[5:] for r in rows]
        print_columns(header, rows)
        enhanced = [r for r in results if r["status"] == "done"]
        frames = sum(r.get("frames", 0) for r in enhanced)
        print(f"{len(results)} file{'s' * (len(results) != 1)}: {len(enhanced)} enhanced, "
              f"{sum(r['status'] == 'skipped' for r in results)} skipped (done before), {len(failed)} failed; "
              + (f"{frames} frames in {wall:.2f} s ({frames / wall:.1f} fps overall); " if frames else "")
              + f"outputs in {args.output}")
    if failed:
        print(f"vidclear: error: {len(failed)} of {len(results)} files failed: "
              + "; ".join(f"{r['input']}: {r.get('reason')}" for r in failed), file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
