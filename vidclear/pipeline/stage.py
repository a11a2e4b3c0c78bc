"""The one Stage shape: take from a queue, process, put to the next queue.

The loop, stop handling, error capture and timing live here once; a stage is a
small subclass that overrides ``process`` (and, if it holds resources, ``setup``,
``finish`` and ``close``). A source stage overrides ``read`` instead of taking
from a queue.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

from .queues import END, Aborted, FrameQueue

log = logging.getLogger(__name__)


@dataclass
class StageStats:
    name: str
    items: int = 0
    wall: float = 0.0  # seconds the stage's thread ran
    wait_in: float = 0.0  # seconds waiting for input
    wait_out: float = 0.0  # seconds blocked on a full output queue
    dropped: int = 0  # items dropped from this stage's output queue (live policy)
    service_wait: float = 0.0  # seconds waiting on the inference service
    service_busy: Optional[float] = None  # a stage that runs a model: inference seconds per request in flight

    @property
    def busy(self) -> float:
        """The stage's own work, plus (for a model stage) the inference its frames took."""
        own = max(0.0, self.wall - self.wait_in - self.wait_out - self.service_wait)
        return own + (self.service_busy or 0.0)


class RunControl:
    """Shared by all stages of one run: the abort signal, the first error, the stop request."""

    def __init__(self) -> None:
        self.abort = threading.Event()  # stop everything now (an error, or a second Ctrl-C)
        self.stop_reading = threading.Event()  # sources stop; what is in flight is finished
        self.error: Optional[tuple[str, BaseException]] = None
        self._lock = threading.Lock()

    def fail(self, stage: str, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = (stage, error)
        self.abort.set()


class Stage:
    """Base of every stage. Subclasses set ``name`` and override ``process``."""

    name = "stage"
    batch_size = 1  # the infer stage takes up to this many queued items at once

    def __init__(self) -> None:
        self.input: Optional[FrameQueue] = None
        self.output: Optional[FrameQueue] = None
        self.control: Optional[RunControl] = None
        self.stats = StageStats(self.name)

    # --- hooks for subclasses -------------------------------------------------
    def setup(self) -> None:
        """Open resources, in the stage's own thread, before the first item."""

    def process(self, item: Any) -> Any | None:
        """Turn one item into its output, or None to pass nothing on."""
        return item

    def process_batch(self, items: list[Any]) -> list[Any]:
        return [out for out in map(self.process, items) if out is not None]

    def read(self) -> Iterator[Any]:
        """Source stages yield their items here; others take from the input queue."""
        assert self.input is not None, f"stage '{self.name}' has no input queue"
        while True:
            first = self.input.get()
            if first is END:
                return
            batch = [first]
            while len(batch) < self.batch_size:
                nxt = self.input.get_nowait()
                if nxt is None:
                    break
                batch.append(nxt)
            yield batch

    def finish(self) -> Iterable[Any]:
        """Called after the last input; may return final items (e.g. flushed frames)."""
        return ()

    def close(self, completed: bool) -> None:
        """Always called last, in the stage's thread; ``completed`` is False after an error or abort."""

    # --- the loop ----------------------------------------------------------------
    def _emit(self, item: Any) -> None:
        if self.output is not None:
            self.output.put(item)

    def run(self) -> None:
        assert self.control is not None
        start = time.perf_counter()
        completed = False
        try:
            self.setup()
            for batch in self.read():
                if self.control.abort.is_set():
                    raise Aborted()
                for out in self.process_batch(batch):
                    self._emit(out)
                self.stats.items += len(batch)
            for out in self.finish():
                self._emit(out)
            self._emit(END)
            completed = True
        except Aborted:
            pass
        except BaseException as e:  # noqa: BLE001 - any failure must stop the whole run
            log.debug("stage '%s' raised", self.name, exc_info=True)
            self.control.fail(self.name, e)
        finally:
            try:
                self.close(completed)
            except BaseException as e:  # noqa: BLE001
                log.debug("stage '%s' failed to close", self.name, exc_info=True)
                self.control.fail(self.name, e)
            self.stats.wall = time.perf_counter() - start
            if self.input is not None:
                self.stats.wait_in = self.input.get_wait
            if self.output is not None:
                self.stats.wait_out = self.output.put_wait
                self.stats.dropped = self.output.dropped


class SourceStage(Stage):
    """A stage with no input queue: ``frames`` yields items until the source ends or stop is asked."""

    def frames(self) -> Iterator[Any]:
        raise NotImplementedError

    def read(self) -> Iterator[list[Any]]:
        assert self.control is not None
        for item in self.frames():
            yield [item]
            if self.control.stop_reading.is_set():
                return
