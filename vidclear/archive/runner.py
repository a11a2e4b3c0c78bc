"""Runs a batch: what the journal says is done is skipped, the rest runs here (several files at once on
one inference service) or on Ray, and each result is recorded as it comes."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Callable, Iterator, Optional

from ..backends.base import usable_cores
from ..config import Config
from ..engine.assembly import start_service
from ..errors import OutputError
from ..io.sink import temporary_path
from ..stop_signals import on_stop_signals
from .inputs import Job
from .journal import Journal, OutdirLock, job_key, remove_partials, settings_digest
from .task import enhance_file

log = logging.getLogger(__name__)


class Stopped(Exception):
    """SIGINT or SIGTERM during a batch: what finished is recorded; the same command resumes."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


def parallel_files(cfg: Config) -> int:
    return cfg.archive.parallel if cfg.archive.parallel != "auto" else max(2, usable_cores())


def run_here(todo: list[tuple[str, Job]], cfg: Config, progress: "Progress") -> Iterator[tuple[str, Job, dict]]:
    """Several files at once in this process, their frames on one inference service (the one engine)."""
    service = start_service(cfg, live=False)
    pool = ThreadPoolExecutor(parallel_files(cfg), thread_name_prefix="vidclear-file")
    futures: dict = {}
    try:
        for key, job in todo:
            on_frames = progress.file_started(job)
            futures[pool.submit(enhance_file, str(job.input), str(job.output), cfg, service, on_frames,
                                start=job.start, duration=job.duration)] = (key, job)
        while futures:
            done, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
            for f in done:
                key, job = futures.pop(f)
                yield key, job, f.result()
    finally:  # after a signal or an error: the queued files are not started, those in flight are cancelled
        pool.shutdown(wait=False, cancel_futures=True)
        service.close()
        # the files in flight end at once, their requests cancelled: none is still writing when the batch ends
        wait([f for f in futures if not f.cancelled()], timeout=5)  # (a cancelled future never counts as done)


class Progress:
    """Overall and per-file progress on a terminal (rich); one log line per finished file elsewhere."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.total, self.finished = total, 0
        self.bar = None
        self.files: dict[Path, int] = {}
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn

            self.bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                    console=Console(stderr=True), transient=True)
            self.overall = self.bar.add_task("files", total=total)

    def __enter__(self) -> "Progress":
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def file_started(self, job: Job) -> Optional[Callable[[int], None]]:
        if self.bar is None:
            return None
        task = self.bar.add_task(f"  {job.input.name}", total=None, visible=False)
        self.files[job.input] = task

        def update(done: int) -> None:
            self.bar.update(task, completed=done, visible=True)

        return update

    def file_finished(self, job: Job, result: dict) -> None:
        self.finished += 1
        if self.bar is not None:
            if job.input in self.files:
                self.bar.remove_task(self.files.pop(job.input))
            self.bar.update(self.overall, completed=self.finished)
        what = (f"{result['frames']} frames, {result.get('fps', 0):.1f} fps" if result["status"] == "done"
                else result["reason"])
        log.info("[%d/%d] %s %s -> %s (%s)", self.finished, self.total, result["status"], job.input, job.output, what)


def _raise_stopped(signame: str) -> None:
    raise Stopped(signame)


def run_batch(jobs: list[Job], cfg: Config, outdir: Path, ray_address: Optional[str] = None, use_ray: bool = False,
              show_progress: bool = False) -> list[dict]:
    """One result per job, in the jobs' order: status done | skipped | failed, with frames, fps, node."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"output folder {outdir} is a file: -o names the folder the outputs go in")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create {outdir}: {e.strerror or e}") from None
    with ExitStack() as stack:
        lock = OutdirLock(outdir)
        stack.callback(lock.release)
        if removed := remove_partials(outdir):
            log.info("removed %d temporary file(s) an interrupted run left in %s", removed, outdir)
        journal = Journal(outdir)
        stack.callback(journal.close)
        digest = settings_digest(cfg)
        results: dict[Path, dict] = {}
        todo = []
        for job in jobs:
            key = job_key(job, digest)
            failures = journal.failures.get(key, 0)
            if entry := journal.done(key, job.output):
                results[job.input] = {**entry, "status": "skipped"}
            elif failures > cfg.archive.retries:
                last = journal.entries[key]
                why = last.get("reason", "no reason recorded")
                results[job.input] = {**last, "reason": f"gave up after {failures} attempts: {why}"}
            else:
                todo.append((key, job))
        for _, job in todo:
            try:
                job.output.parent.mkdir(parents=True, exist_ok=True)  # the input folders, mirrored
            except OSError as e:
                raise OutputError(f"cannot create {job.output.parent}: {e.strerror or e}") from None
        log.info("batch: %d file(s), %d to enhance, %d already done%s", len(jobs), len(todo),
                 sum(r["status"] == "skipped" for r in results.values()),
                 "" if not todo else ", on Ray" if use_ray else f", {min(len(todo), parallel_files(cfg))} at once")
        restore = on_stop_signals(_raise_stopped)
        stack.callback(restore)
        in_flight = {job.output for _, job in todo}
        try:
            with Progress(show_progress, len(todo)) as progress:
                if not todo:  # every file done before: no model to load, no cluster to join
                    finished = (result for result in ())  # a generator, which closing() can close
                elif use_ray:
                    from .on_ray import run_on_ray

                    finished = run_on_ray(todo, cfg, ray_address)
                else:
                    finished = run_here(todo, cfg, progress)
                with closing(finished):  # on an error too, at once: the queued files are not started
                    for key, job, result in finished:
                        in_flight.discard(job.output)
                        if result["status"] in ("done", "failed"):
                            attempt = journal.failures.get(key, 0) + 1
                            results[job.input] = journal.record(key, job, attempt=attempt, **result)
                        progress.file_finished(job, result)
        except (Stopped, OutputError):  # a signal, or the journal could not be written
            for output in in_flight:  # the files being written then: none is kept
                temporary_path(output).unlink(missing_ok=True)
            raise
    return [results.get(job.input) or {"input": str(job.input), "output": str(job.output), "status": "stopped"}
            for job in jobs]
