"""Runs a chain of stages, each in its own thread, joined by bounded queues.

The main thread only watches: it reports progress, turns SIGINT/SIGTERM into a
graceful stop (stop reading, finish what is in flight, finalise the output) and,
when any stage fails, makes sure every thread has ended before it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import StageFailed
from ..stop_signals import on_stop_signals
from .queues import FrameQueue, FullPolicy
from .stage import RunControl, Stage, StageStats

log = logging.getLogger(__name__)

JOIN_GRACE_S = 1.0  # after an abort, how long stages get to notice it


@dataclass
class QueueStats:
    name: str
    maxsize: int
    high_water: int
    dropped: int
    discarded_at_stop: int = 0


@dataclass
class RunResult:
    frames: int  # items the last stage took in
    wall: float
    stages: list[StageStats]
    queues: list[QueueStats]
    interrupted_by: Optional[str] = None  # "SIGINT" / "SIGTERM" after a graceful stop

    @property
    def fps(self) -> float:
        return self.frames / self.wall if self.wall > 0 else 0.0

    @property
    def busiest(self) -> StageStats:
        return max(self.stages, key=lambda s: s.busy)


class Pipeline:
    def __init__(self, stages: list[Stage], queue_size: int = 8, policy: FullPolicy = "block") -> None:
        if not stages:
            raise ValueError("a pipeline needs at least one stage")
        self.stages = stages
        self.control = RunControl()
        self.queues: list[FrameQueue] = []
        for upstream, downstream in zip(stages, stages[1:]):
            q = FrameQueue(queue_size, policy, self.control.abort)
            upstream.output = q
            downstream.input = q
            self.queues.append(q)
        for stage in stages:
            stage.control = self.control
        self.threads: list[threading.Thread] = []
        self.interrupted_by: Optional[str] = None

    def request_stop(self, why: str = "stop") -> None:
        """Stop reading and finish what is in flight; a second request aborts at once."""
        if self.control.stop_reading.is_set():
            log.warning("second %s: aborting without finalising", why)
            self.control.fail("interrupt", KeyboardInterrupt(f"aborted by a second {why}"))
            return
        log.info("%s received: finishing the frames in flight", why)
        self.interrupted_by = why
        self.control.stop_reading.set()
        # Everything queued before the last queue is newer than anything past it:
        # cutting it keeps the output a gap-free prefix and the stop prompt.
        for q in self.queues[:-1]:
            q.cut()

    def run(self, on_progress: Callable[[int], None] | None = None, progress_every: float = 0.2) -> RunResult:
        restore = on_stop_signals(self.request_stop)
        start = time.perf_counter()
        try:
            self.threads = [
                threading.Thread(target=s.run, name=f"vidclear-{s.name}", daemon=True) for s in self.stages
            ]
            for t in self.threads:
                t.start()
            last = self.stages[-1]
            while any(t.is_alive() for t in self.threads):
                if self.control.abort.is_set():
                    self._join_after_abort()
                    break
                self.threads[-1].join(progress_every)
                if on_progress is not None:
                    on_progress(last.stats.items)
        finally:
            restore()
        wall = time.perf_counter() - start
        if self.control.error is not None:
            stage, error = self.control.error
            raise StageFailed(stage, error) from error
        return RunResult(
            frames=last.stats.items,
            wall=wall,
            stages=[s.stats for s in self.stages],
            queues=[
                QueueStats(f"{a.name}->{b.name}", q.maxsize, q.high_water, q.dropped, q.discarded_at_stop)
                for a, b, q in zip(self.stages, self.stages[1:], self.queues)
            ],
            interrupted_by=self.interrupted_by,
        )

    def _join_after_abort(self) -> None:
        for q in self.queues:
            q.wake()
        deadline = time.monotonic() + JOIN_GRACE_S
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self.threads if t.is_alive()]
        if stuck:
            # A stage inside a long native call cannot be interrupted; it is a daemon
            # thread and holds nothing the caller needs. Say so rather than hang.
            log.warning("stages still finishing after abort: %s", ", ".join(stuck))
