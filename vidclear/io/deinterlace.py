"""Deinterlacing before enhancement: analogue cameras behind a DVR or an encoder send interlaced video.

An interlaced frame holds two fields captured 1/50 s (or 1/60 s) apart. A moving edge then
alternates between two positions line by line ("combing"), and a super-resolution model
enlarges the comb as if it were detail. FFmpeg's ``bwdif`` rebuilds each frame from one of
its fields (using the neighbouring frames), one frame out per frame in, so a deinterlaced
run has the input's frame count and timestamps. It holds one frame back (it looks at the
next one), which adds one frame interval of latency to a camera.

Modes (``deinterlace`` in the config, ``--deinterlace``):
- ``auto``: only the frames the decoder flags as interlaced. A progressive input never
  builds the filter and passes through untouched.
- ``on``: every frame, for interlaced video coded as progressive (some DVRs do that).
- ``fields``: every frame, each of its two fields rebuilt into a frame of its own, at its
  own moment: twice the frame rate (50 or 60 a second), and twice the model's work. A
  fast car is caught twice as often; a forensic pass over a recording sees every moment
  the camera captured, where the modes above keep one field's worth of motion.
- ``off``: none; the log says so once when flagged frames come in.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Iterable, Iterator, Optional

import av

from ..choices import DeinterlaceMode
from .filter_graph import one_filter

log = logging.getLogger(__name__)

FRAMES_PER_FRAME = {"auto": 1, "on": 1, "fields": 2, "off": 1}  # frames out for each interlaced frame in
FILTER = "bwdif"


class Deinterlacer:
    """One stream's deinterlacing. ``push(frame, tag)`` returns the (frame, tag) pairs ready, in order;
    ``tag`` travels with its frame through the filter's delay (a live source's capture time)."""

    def __init__(self, mode: DeinterlaceMode, label: str) -> None:
        self.mode = mode
        self.label = label  # names the input in the log
        self.deinterlaced = 0  # frames the filter rebuilt (under auto, the flagged ones)
        self._graph: Optional[av.filter.Graph] = None
        self._shape: Optional[tuple[int, int, str]] = None
        self._held: deque[tuple[int | None, Any, Any, bool]] = deque()  # (pts, time_base, tag, flagged) in the filter
        self._warned_off = False

    def push(self, frame: av.VideoFrame, tag: Any = None) -> list[tuple[av.VideoFrame, Any]]:
        if self.mode == "off" or (self.mode == "auto" and self._graph is None and not frame.interlaced_frame):
            if self.mode == "off" and frame.interlaced_frame and not self._warned_off:
                log.warning("%s is interlaced, and deinterlace is off: the model will enlarge its combing "
                            "(deinterlace: auto deinterlaces it)", self.label)
                self._warned_off = True
            return [(frame, tag)]
        shape = (frame.width, frame.height, frame.format.name)
        ready = []
        if self._graph is not None and shape != self._shape:  # a camera came back at another size
            ready = self.flush()
        if self._graph is None:
            self._open(frame, shape)
        self._held.append((frame.pts, frame.time_base, tag, self.mode != "auto" or frame.interlaced_frame))
        self._graph.push(frame)
        return ready + self._pull()

    def flush(self) -> list[tuple[av.VideoFrame, Any]]:
        """The frames still held (at the end of the input, or before the stream changes size)."""
        if self._graph is None:
            return []
        self._graph.push(None)
        ready = self._pull()
        self._graph, self._shape = None, None
        self._held.clear()
        return ready

    def reset(self) -> None:
        """Forget the held frame and the filter (a camera reconnected: its next frame starts a new stream)."""
        self._graph, self._shape = None, None
        self._held.clear()

    def run(self, frames: Iterable[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        """Every frame of ``frames``, deinterlaced as the mode says, the held one included at the end."""
        for frame in frames:
            for out, _ in self.push(frame):
                yield out
        for out, _ in self.flush():
            yield out

    def _open(self, frame: av.VideoFrame, shape: tuple[int, int, str]) -> None:
        send = "send_field" if self.mode == "fields" else "send_frame"
        which = "interlaced" if self.mode == "auto" else "all"
        graph = one_filter(frame, FILTER, f"mode={send}:parity=auto:deint={which}")
        if self.deinterlaced == 0:
            why = {"on": "every frame (deinterlace: on)", "auto": "it is interlaced (deinterlace: auto)",
                   "fields": "every frame (deinterlace: fields)"}[self.mode]
            each = "a frame per field, twice the frame rate" if self.mode == "fields" else "one frame per frame"
            log.info("%s: deinterlacing with %s, %s: %s", self.label, FILTER, each, why)
        self._graph, self._shape = graph, shape

    def _pull(self) -> list[tuple[av.VideoFrame, Any]]:
        """What the filter has ready, each frame with its tag. bwdif halves the time base: a frame per frame gets
        its input's timestamp back; a frame per field keeps the filter's (the field's own moment)."""
        ready = []
        while self._held:
            try:
                out = self._graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
            if self.mode == "fields":
                ready.append((out, self._tag_of_field(out)))
                self.deinterlaced += 1
                continue
            pts, time_base, tag, rebuilt = self._held.popleft()
            out.pts, out.time_base = pts, time_base
            self.deinterlaced += rebuilt
            ready.append((out, tag))
        return ready

    def _tag_of_field(self, out: av.VideoFrame) -> Any:
        """The tag of the frame a field came from: the last one pushed whose (doubled) timestamp is not after it."""
        while (len(self._held) > 1 and out.pts is not None and self._held[1][0] is not None
               and 2 * self._held[1][0] <= out.pts):
            self._held.popleft()
        return self._held[0][2]
