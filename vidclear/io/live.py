"""Live input: RTSP/RTSPS (and anything PyAV opens live), reconnecting forever.

A live source that ends (a clean EOF is how a dead RTSP server shows itself),
errors, or stalls (no frame for ``stall_timeout`` seconds: PyAV's read timeout)
is reopened with exponential backoff and jitter. Frames are stamped on one
monotonic clock, spaced by the camera's own timestamps (``StreamClock``), so
they keep increasing across reconnects and a burst of queued frames keeps its spacing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterator, Optional

import av

from ..choices import DeinterlaceMode
from ..errors import CameraUnreachable, InputError, StreamSizeChanged
from ..secrets import redact
from .crop import Cropper, Region
from .deinterlace import FRAMES_PER_FRAME, Deinterlacer
from .live_clock import StreamClock
from .source import VideoInfo, stream_colour, to_native

log = logging.getLogger(__name__)

LIVE_TIME_BASE = Fraction(1, 90000)
LIVE_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://", "/dev/video")


def is_live(source: str) -> bool:
    return str(source).lower().startswith(LIVE_PREFIXES)


def is_rtsp(url: str) -> bool:
    """An rtsp:// or rtsps:// URL: a camera to read with a transport, or an output to publish to."""
    return url.lower().startswith(("rtsp://", "rtsps://"))


@dataclass
class LiveStats:
    frames: int = 0
    reconnects: int = 0
    connected: bool = False
    connected_at: Optional[float] = None  # time.monotonic() when the current connection opened
    last_error: Optional[str] = None  # why the last connection attempt failed (credentials redacted)
    last_frame: Optional[float] = None  # time.monotonic() of the last frame
    first_frame_after_reconnect: list[float] = field(default_factory=list)  # seconds from reopen to frame
    first_frame_after_reconnect_at: list[float] = field(default_factory=list)  # time.monotonic() of those frames


class LiveSource:
    """``frames()`` yields (yuv420p av.VideoFrame, capture time) until ``stop`` is set."""

    def __init__(
        self,
        url: str,
        transport: str = "tcp",
        open_timeout: float = 5.0,
        stall_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        max_retries: Optional[int] = None,
        fail_fast: bool = True,
        label: Optional[str] = None,
        deinterlace: DeinterlaceMode = "auto",
        crop: Optional[Region] = None,
    ) -> None:
        self.url = url
        # what the log calls it: serve names each camera, so its lines say which of many it is
        self.name = f"{label} at {redact(url)}" if label else redact(url)
        self.transport = transport
        self.open_timeout = open_timeout
        self.stall_timeout = stall_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_retries = max_retries
        self.stats = LiveStats()
        self.stop = threading.Event()
        self.container: Optional[av.container.InputContainer] = None
        self.damage = None  # live sources reconnect instead of stopping at damage
        self.rotation = 0
        self.container_format = "live"
        self.tags: dict[str, str] = {}  # a camera's recordings get only their own (their start time)
        self.audio_stream = None
        self.on_audio_packet = None
        self._t0 = time.monotonic()
        self._opened_at = self._t0  # when the current connection opened (for telling stalls)
        self.clock = StreamClock(self.name)
        self.deinterlacer = Deinterlacer(deinterlace, f"live source {self.name}")
        self.cropper = Cropper(crop, f"live source {self.name}") if crop else None
        self._size: Optional[tuple[int, int]] = None
        self.restart_on_resize = False  # False: frames of a new size are scaled to the first size
        self._resize_logged = False
        try:
            self._open()
        except InputError as e:
            if fail_fast:
                raise
            self.stats.last_error = str(e)
            self.info = None  # learnt on the first successful connection
        else:
            try:
                self.info = self._info()
            except InputError:  # a crop that does not fit the camera's frame
                self._close()
                raise

    def _options(self) -> dict:
        """Half a second of probing, for a fast start. The packets read while probing are kept
        (no ``fflags nobuffer``): they hold the keyframe a camera sends as a session starts, and
        without it the first frame waits a whole GOP more (docs/performance.md, PyAV and FFmpeg)."""
        opts = {"analyzeduration": "500000", "probesize": "500000"}
        if is_rtsp(self.url):
            opts["rtsp_transport"] = self.transport
        return opts

    def _open(self) -> None:
        try:
            self.container = av.open(self.url, "r", options=self._options(),
                                     timeout=(self.open_timeout, self.stall_timeout))
        except (av.error.FFmpegError, OSError, TimeoutError) as e:
            reason = redact(str(getattr(e, "strerror", None) or e))
            if "401" in reason or "Unauthorized" in reason:
                reason = (f"rejected the credentials (authentication failed: {reason}): check the user name and the "
                          "password (password_env)")
                raise CameraUnreachable(f"live source {self.name} {reason}", reason) from None
            raise CameraUnreachable(f"cannot open live source {self.name}: {reason}", reason) from None
        if not self.container.streams.video:
            self.container.close()
            raise InputError(f"live source {self.name} has no video stream")
        self.stats.connected = True
        self.stats.last_error = None
        self._opened_at = self.stats.connected_at = time.monotonic()
        self.clock.restart()
        cc = self.container.streams.video[0].codec_context
        if self._size is None and cc.width and cc.height:
            self._size = (cc.width, cc.height)

    def _info(self) -> VideoInfo:
        v = self.container.streams.video[0]
        w, h = self._size or (v.codec_context.width, v.codec_context.height)
        if self.cropper is not None:
            w, h = self.cropper.fit(w, h)
        rate = v.average_rate or v.guessed_rate
        if rate:
            rate *= FRAMES_PER_FRAME[self.deinterlacer.mode]  # deinterlace: fields sends a frame per field
        return VideoInfo(w, h, LIVE_TIME_BASE, rate, 0, v.codec_context.pix_fmt or "?", v.codec_context.name, None,
                         stream_colour(v))

    def _close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone either way
                pass
            self.container = None
        self.stats.connected = False

    def connect(self) -> bool:
        """Connect (retrying with backoff) if not connected yet; False when stopped first."""
        if self.container is None and not self._reconnect("not connected yet", initial=True):
            return False
        if self.info is None:
            self.info = self._info()
        return True

    def _reconnect(self, why: str, initial: bool = False) -> bool:
        """Reopen with backoff; False when stop was asked or retries ran out."""
        self._close()
        self.deinterlacer.reset()  # the frame it held belongs to the lost connection
        log.warning("live source %s: %s; %s", self.name, redact(why), "connecting" if initial else "reconnecting")
        delay = self.backoff_initial
        attempt = 0
        while not self.stop.is_set():
            attempt += 1
            if self.max_retries is not None and attempt > self.max_retries:
                log.error("live source %s: giving up after %d attempts", self.name, self.max_retries)
                return False
            started = time.monotonic()
            try:
                self._open()
            except InputError as e:
                self.stats.last_error = str(e)
                wait = min(self.backoff_max, delay) * random.uniform(0.8, 1.2)
                log.info("%s (attempt %d); next in %.1f s", e, attempt, wait)  # e names the source
                self.stop.wait(wait)
                delay = min(self.backoff_max, delay * 2)
                continue
            if initial:
                log.info("live source %s: connected", self.name)
                return True
            self.stats.reconnects += 1
            self._reopened_at = started
            log.info("live source %s: reconnected (reconnect %d)", self.name, self.stats.reconnects)
            return True
        return False

    def _fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        frame = to_native(frame)
        if self._size and (frame.width, frame.height) != self._size:
            if self.restart_on_resize:  # serve: the camera's pipeline starts again at the new size
                raise StreamSizeChanged(f"live source {self.name} changed size to {frame.width}x{frame.height} "
                                        f"(was {self._size[0]}x{self._size[1]})")
            if not self._resize_logged:
                log.warning("live source %s changed size to %dx%d: scaling to %dx%d (one output, one size)",
                            self.name, frame.width, frame.height, *self._size)
                self._resize_logged = True
            frame = frame.reformat(width=self._size[0], height=self._size[1])
        return frame if self.cropper is None else self.cropper(frame)

    def frames(self) -> Iterator[tuple[av.VideoFrame, float]]:
        self._reopened_at: Optional[float] = None
        if not self.connect():
            return
        while not self.stop.is_set():
            why = "the stream ended (server gone?)"
            try:
                for packet in self.container.demux(self.container.streams.video[0]):
                    for decoded in packet.decode():
                        now = time.monotonic()
                        if self._reopened_at is not None:
                            self.stats.first_frame_after_reconnect.append(now - self._reopened_at)
                            self.stats.first_frame_after_reconnect_at.append(now)
                            self._reopened_at = None
                        self.stats.frames += 1
                        self.stats.last_frame = now
                        for frame, captured in self.deinterlacer.push(decoded, now):  # held back one frame, or none
                            yield self._fit(frame), captured
                        if self.stop.is_set():
                            return
            except (av.error.FFmpegError, OSError, EOFError) as e:
                why = self._read_failure(e)
            if self.stop.is_set() or not self._reconnect(why):
                return

    def _read_failure(self, e: Exception) -> str:
        """Why a read ended, for the log. PyAV reports its read timeout as TimeoutError, but when the
        interrupt lands inside FFmpeg's RTSP demuxer the error comes out as "Immediate exit requested"
        or "Input/output error" (seen on a loaded CPU and against a stopped server). So a stall is also
        told by our own clock: any read error after no frame for (about) stall_timeout is the watchdog."""
        silent = time.monotonic() - max(self.stats.last_frame or 0.0, self._opened_at)
        if isinstance(e, TimeoutError) or (not isinstance(e, EOFError) and silent >= 0.9 * self.stall_timeout):
            return f"no frame for {silent:.1f} s (stalled; stall_timeout {self.stall_timeout:g} s)"
        return f"read failed: {getattr(e, 'strerror', None) or e}"

    def pts(self, frame: av.VideoFrame, captured: float) -> int:
        """``frame``'s presentation time in LIVE_TIME_BASE ticks from the source's start: its camera
        timestamp held to the arrival clock. Called once for each frame ``frames()`` gives, in order."""
        return int(round((self.clock.stamp(captured, frame.time) - self._t0) / LIVE_TIME_BASE))

    def close(self) -> None:
        self.stop.set()
        self._close()
