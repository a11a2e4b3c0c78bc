"""A bounded queue with a full-policy, an abort signal and counters.

Files use ``block`` (backpressure: nothing is ever dropped); live sources use
``drop_oldest`` so latency stays bounded and every drop is counted. Blocking
calls wake up when the run is aborted, so no thread can hang on a queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Literal

FullPolicy = Literal["block", "drop_oldest"]


class EndOfStream:
    """The marker a stage puts after its last item."""

    def __repr__(self) -> str:
        return "END"


END = EndOfStream()


class Aborted(Exception):
    """Raised in a stage thread blocked on a queue when the run is aborted."""


class FrameQueue:
    def __init__(self, maxsize: int, policy: FullPolicy = "block", abort: threading.Event | None = None) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.policy = policy
        self.abort = abort or threading.Event()
        self._items: deque[Any] = deque()
        self._cond = threading.Condition()
        self.put_count = 0
        self.dropped = 0  # dropped to keep latency bounded (drop_oldest), or refused after a cut
        self.discarded_at_stop = 0  # queued when a stop was asked, never processed
        self.high_water = 0
        self.is_cut = False  # after cut(): items are refused, only the end marker passes
        self.put_wait = 0.0  # seconds producers spent blocked on a full queue
        self.get_wait = 0.0  # seconds consumers spent waiting on an empty queue

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def _wait(self, ready) -> float:
        """Wait until ready() holds; returns the seconds waited. Raises Aborted."""
        start = time.perf_counter()
        while not ready():
            if self.abort.is_set():
                raise Aborted()
            self._cond.wait(0.05)
        return time.perf_counter() - start

    def put(self, item: Any) -> Any | None:
        """Add an item. Returns the item dropped to make room or refused after a cut, if any.

        The end marker is never dropped and never waits for room under drop_oldest.
        """
        with self._cond:
            if self.abort.is_set():
                raise Aborted()
            if len(self._items) >= self.maxsize and not self.is_cut:
                if self.policy == "drop_oldest" and item is not END:
                    self.dropped += 1
                    dropped = self._items.popleft()
                    self._append(item)
                    return dropped
                if self.policy == "block":
                    self.put_wait += self._wait(lambda: len(self._items) < self.maxsize or self.is_cut)
            if self.is_cut and item is not END:
                self.discarded_at_stop += 1
                return item
            self._append(item)
            return None

    def _append(self, item: Any) -> None:
        self._items.append(item)
        self.put_count += 1
        self.high_water = max(self.high_water, len(self._items))
        self._cond.notify_all()

    def get(self) -> Any:
        with self._cond:
            self.get_wait += self._wait(lambda: len(self._items) > 0)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def get_nowait(self) -> Any | None:
        """The next item if one is queued and it is not the end marker, else None."""
        with self._cond:
            if not self._items or self._items[0] is END:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def cut(self) -> int:
        """Drop every queued item and refuse later ones; only the end marker still passes.

        Used on Ctrl-C: what is queued is newer than anything downstream, so cutting
        here keeps the output a gap-free prefix of the input. Returns how many were dropped.
        """
        with self._cond:
            kept = [i for i in self._items if i is END]
            n = len(self._items) - len(kept)
            self._items = deque(kept)
            self.is_cut = True
            self.discarded_at_stop += n
            self._cond.notify_all()
            return n

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
