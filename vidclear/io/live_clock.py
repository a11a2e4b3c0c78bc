"""Presentation times for a live camera's frames: spaced by the camera's own clock, held to ours.

Stamping each frame with the time it was read copies every network hiccup, reader stall and
buffered burst into the recording: frames that queued in a socket come out together and play
as a freeze, then a fast-forward. The camera's timestamps space the frames as they were
captured, but they start anywhere, can jump (a camera reboot, a wrap, a new session) and drift
from our clock by its crystal's error. So a stamp is the camera's time plus an offset to our
monotonic clock that is set from the first frame, follows the arrival times slowly (jitter
averages out, drift is followed, the playback speed changes by at most ``RATE``), and is set
again when the camera's clock jumps or a frame arrives ``MAX_STRAY`` late. A camera whose
stamps run ``MAX_STRAY`` ahead of its frames (timestamps for a frame rate it does not send) is
stamped by arrival for the rest of the connection. Stamps always increase.
"""

from __future__ import annotations

import logging
from typing import Optional

log = logging.getLogger(__name__)

FOLLOW = 0.01  # share of a frame's lateness taken into the offset: about a 100-frame time constant
RATE = 0.01  # the offset moves by at most this share of each frame step (1 % playback speed)
MAX_STEP = 1.0  # s: a step of the camera's clock beyond this, or not forward, is a jump
MAX_STRAY = 2.0  # s: a frame this late starts the clock again; stamps this far ahead are not trusted
# s: between two stamps, when one would fall at or before the last (a jump, or frames without timestamps that
# arrive together: the two fields of a camera's first frame). A millisecond, the coarsest time base written
# (Matroska's), so that the two are two moments in the file too.
MIN_GAP = 1e-3


class StreamClock:
    """``stamp(arrival, stream_time)`` for each frame of one source, in order, on the arrival clock."""

    def __init__(self, name: str = "") -> None:
        self.name = name  # for the log (already redacted)
        self.last: Optional[float] = None  # the last stamp given, across restarts
        self.resyncs = 0  # times the camera's clock jumped or strayed and the offset was set again
        self.restart()

    def restart(self) -> None:
        """A new connection: the camera's clock starts again somewhere else."""
        self._offset: Optional[float] = None  # stamp = the camera's time + this
        self._stream: Optional[float] = None  # the camera's time of the last frame
        self._lead: Optional[float] = None  # set when the camera's clock is not trusted: stamp = arrival + this

    def stamp(self, arrival: float, stream_time: Optional[float]) -> float:
        """When this frame was captured, on the clock ``arrival`` is read from (seconds)."""
        if self._lead is not None:
            return self._give(arrival + self._lead)
        if stream_time is None:
            self._offset = None
            return self._give(arrival)
        previous, self._stream = self._stream, stream_time
        if self._offset is None or previous is None:
            return self._anchor(arrival, stream_time)
        step = stream_time - previous
        if not 0 < step <= MAX_STEP:
            log.debug("live source %s: the camera's clock jumped by %+.3f s; stamps start again from the "
                      "arrival time", self.name, step)
            return self._anchor(arrival, stream_time)
        late = arrival - (stream_time + self._offset)
        if late > MAX_STRAY:
            log.debug("live source %s: a frame arrived %.1f s after its timestamp; stamps start again from "
                      "the arrival time", self.name, late)
            return self._anchor(arrival, stream_time)
        if late < -MAX_STRAY:
            log.warning("live source %s: the camera's timestamps run %.1f s ahead of its frames; stamping "
                        "frames by arrival until it reconnects", self.name, -late)
            self._lead = max(0.0, self.last - arrival) if self.last is not None else 0.0
            return self._give(arrival + self._lead)
        self._offset += min(max(FOLLOW * late, -RATE * step), RATE * step)
        return self._give(stream_time + self._offset)

    def _anchor(self, arrival: float, stream_time: float) -> float:
        """Stamp this frame at its arrival (or just after the last stamp) and the next ones from it."""
        self.resyncs += self._offset is not None
        stamp = self._give(arrival)
        self._offset = stamp - stream_time
        return stamp

    def _give(self, stamp: float) -> float:
        if self.last is not None and stamp <= self.last:
            stamp = self.last + MIN_GAP
        self.last = stamp
        return stamp
