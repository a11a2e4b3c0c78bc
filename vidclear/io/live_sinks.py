"""Outputs for live cameras: segmented recording and RTSP publishing.

Segments: a new file every ``segment_seconds`` named by ``strftime`` on a
pattern such as ``rec/cam1_%Y%m%d_%H%M%S.ts``. MPEG-TS, or fragmented MP4,
so every closed segment plays and an abrupt kill loses at most the open one.
Each segment starts with a keyframe; timestamps stay on the source's one
monotonic clock, so consecutive segments line up.

RTSP: publishes to a server (ANNOUNCE/RECORD); when the server goes away it is
reconnected with backoff while frames are dropped and counted.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av

from ..config import EncoderConfig
from ..errors import OutputError, write_error
from ..secrets import redact
from .names import free_name
from .retention import Retention
from .segment_names import pattern_root
from .sink import add_video_stream, check_target, container_format, recording_options
from .source import Colour
from .tags import RecordingTags

log = logging.getLogger(__name__)

class _LiveEncodedSink:
    """What both live outputs hold: the encoder settings, the output size and clock, one video stream."""

    def __init__(self, encoder: EncoderConfig) -> None:
        self.encoder = encoder
        self.container: Optional[av.container.OutputContainer] = None
        self.video = None
        self.size: Optional[tuple[int, int]] = None
        self.time_base = Fraction(1, 90000)
        self.rate: Optional[Fraction] = None
        self.frames_written = 0
        self.last_write: Optional[float] = None  # time.monotonic() of the last frame that reached the output

    def open(self, width: int, height: int, time_base: Fraction, rate: Optional[Fraction],
             colour: Optional[Colour] = None) -> None:
        self.size, self.time_base, self.rate, self.colour = (width, height), time_base, rate, colour

    def _add_video(self) -> None:
        assert self.container is not None and self.size is not None
        self.video = add_video_stream(self.container, self.encoder, *self.size, self.time_base, self.rate, live=True,
                                      colour=self.colour)


class SegmentSink(_LiveEncodedSink):
    def __init__(self, pattern: str, segment_seconds: float, encoder: EncoderConfig,
                 tags: Optional[RecordingTags] = None, retention: Optional[Retention] = None) -> None:
        super().__init__(encoder)
        self.pattern = pattern
        self.root = pattern_root(pattern)[0]  # must stay; the dated folders below it are made as segments need them
        self.retention = retention  # removes this output's oldest segments, each time one is started
        self.tags = tags or RecordingTags()  # how the video was made, and each segment's start, in its metadata
        self.segment_seconds = segment_seconds
        check_target(pattern)
        self.format = container_format(Path(pattern))
        self.rotation = 0
        self.segments: deque[Path] = deque(maxlen=4)  # the latest, the one being written last
        self._started = 0.0
        self._first_pts = 0
        self._last_pts: Optional[int] = None
        self._segment_frames = 0

    def set_rotation(self, degrees: int) -> None:
        self.rotation = degrees

    def _new_segment(self, pts: int) -> None:
        self._close_segment()
        if self.retention is not None:
            self.retention.wait()  # a pass may remove the folders it empties: never the one about to be written
        began = time.time()  # the segment's name and its creation_time tag say the same moment
        # never over a recording: two segments in one second, a restart within it, a pattern without the date
        # coming round the next day (the segments just named count too: a file appears with its first packet)
        path = free_name(Path(time.strftime(self.pattern, time.localtime(began))), self.segments)
        # every packet flushed to the file as it is muxed: a kill loses no buffered frames, and a full disk
        # fails the frame that hit it, not a later one (health would otherwise call a failing camera fine)
        options = recording_options(self.format)
        try:
            if not self.root.is_dir():  # gone (an unmounted disk, a removed share): not made again on the disk below
                raise FileNotFoundError(errno.ENOENT, f"its folder {self.root} is gone")
            path.parent.mkdir(parents=True, exist_ok=True)  # a dated folder (rec/%Y-%m-%d/...) begins
            self.container = av.open(str(path), "w", format=self.format, options=options)
        except (av.error.FFmpegError, OSError) as e:
            raise OutputError(f"cannot write segment {path}: {getattr(e, 'strerror', None) or e}") from None
        self.tags.write_to(self.container, began)
        self._add_video()
        if self.rotation:
            self.video.set_display_rotation(self.rotation)
        self.segments.append(path)
        if self.retention is not None:
            self.retention.apply(writing=path)
        self._segment_frames = 0
        self._started = time.monotonic()
        self._first_pts = pts
        log.info("segment %s started", path)

    def _close_segment(self) -> None:
        if self.container is not None:
            try:
                self.container.mux(self.video.encode(None))
            finally:
                self.container.close()
                self.container = None

    def _abandon_segment(self) -> None:
        """After a failed write (a full disk): let go of the open segment; keep it if a frame reached it
        and reached the disk (MPEG-TS and fragmented MP4 play up to the cut), else remove the file."""
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the write already failed; its error is the one to report
                pass
            self.container = None
        if not self.segments:
            return
        path = self.segments[-1]
        if self._segment_frames and _holds_a_frame(path):
            log.warning("segment %s cut short by a write error (it plays up to the cut)", path)
        else:
            path.unlink(missing_ok=True)
            self.segments.pop()

    def write(self, frame: av.VideoFrame, pts: int) -> None:
        if self._last_pts is not None and pts <= self._last_pts:
            return  # never write a timestamp twice
        try:
            if self.container is None or time.monotonic() - self._started >= self.segment_seconds:
                self._new_segment(pts)
            frame.pts = pts
            self.container.mux(self.video.encode(frame))
        except (av.error.FFmpegError, OSError) as e:
            path = self.segments[-1] if self.segments else Path(self.pattern)
            self._abandon_segment()
            raise write_error(e, path) from None
        self._last_pts = pts
        self._segment_frames += 1
        self.frames_written += 1
        self.last_write = time.monotonic()

    def close(self, completed: bool) -> None:
        if self.retention is not None:
            self.retention.wait()  # a pass under way finishes: no segment is left half-considered at exit
        try:
            self._close_segment()
        except (av.error.FFmpegError, OSError) as e:
            path = self.segments[-1]
            self._abandon_segment()
            raise write_error(e, path) from None


def _holds_a_frame(path: Path) -> bool:
    """Whether a segment cut short holds at least one video packet that reached the disk."""
    try:
        with av.open(str(path)) as c:
            return any(p.size for p in c.demux(video=0))
    except (av.error.FFmpegError, OSError):
        return False


class RtspSink(_LiveEncodedSink):
    """Publishes from its own thread, behind a short backlog: a server that is slow or hung (its socket
    full, the send blocked) costs this output frames, dropped and counted, never the camera's other
    outputs or the pipeline."""

    def __init__(self, url: str, encoder: EncoderConfig, transport: str = "tcp", retry_seconds: float = 2.0,
                 backlog_seconds: float = 2.0) -> None:
        super().__init__(encoder)
        self.url = url
        self.name = redact(url)
        self.transport = transport
        self.retry_seconds = retry_seconds
        self.backlog_seconds = backlog_seconds
        self.dropped = 0
        self.reconnects = 0
        self.last_error: Optional[str] = None  # why the latest send or connection failed (credentials redacted)
        self._down_since: Optional[float] = None
        self._first_pts: Optional[int] = None
        self._backlog: deque[tuple[av.VideoFrame, int]] = deque()
        self._backlog_max = 2
        self._behind = False
        self._cond = threading.Condition()
        self._closing = False
        self._sender: Optional[threading.Thread] = None

    def open(self, width: int, height: int, time_base: Fraction, rate: Optional[Fraction],
             colour: Optional[Colour] = None) -> None:
        super().open(width, height, time_base, rate, colour)
        self._backlog_max = max(2, round(float(rate or 25) * self.backlog_seconds))
        self._sender = threading.Thread(target=self._send_loop, name=f"vidclear-publish-{self.name}", daemon=True)
        self._sender.start()

    def set_rotation(self, degrees: int) -> None:
        pass  # RTSP carries no display matrix

    def write(self, frame: av.VideoFrame, pts: int) -> None:
        """Hand the frame to the sender; when the backlog is full the oldest frame is dropped."""
        with self._cond:
            if len(self._backlog) >= self._backlog_max:
                self._backlog.popleft()
                self.dropped += 1
                if not self._behind:
                    self._behind = True
                    log.warning("RTSP output %s: the server takes frames slower than they come; dropping the "
                                "oldest", self.name)
            self._backlog.append((frame, pts))
            self._cond.notify()

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not self._backlog and not self._closing:
                    self._cond.wait()
                if not self._backlog:
                    break
                frame, pts = self._backlog.popleft()
                if not self._backlog:
                    self._behind = False
            self._send(frame, pts)
        self._finish()

    def _connect(self) -> None:
        self.container = av.open(self.url, "w", format="rtsp", options={"rtsp_transport": self.transport})
        self._add_video()
        self._first_pts = None

    def _drop(self, why: str) -> None:
        self.last_error = redact(why)
        if self._down_since is None:
            log.warning("RTSP output %s: %s; retrying every %.0f s", self.name, redact(why), self.retry_seconds)
        self._down_since = time.monotonic()
        self.dropped += 1
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass
            self.container = None

    def _send(self, frame: av.VideoFrame, pts: int) -> None:
        if self.container is None:
            if self._down_since is not None and time.monotonic() - self._down_since < self.retry_seconds:
                self.dropped += 1
                return
            try:
                self._connect()
            except (av.error.FFmpegError, OSError) as e:
                self._drop(f"cannot connect ({getattr(e, 'strerror', None) or e})")
                return
        if self._first_pts is None:
            self._first_pts = pts
        try:
            # the frame is shared with the other outputs: its pts stays; this connection's clock starts at 0
            for packet in self.video.encode(frame):
                packet.pts = None if packet.pts is None else packet.pts - self._first_pts
                packet.dts = None if packet.dts is None else packet.dts - self._first_pts
                # RTSP connects at the first mux: connection errors surface here (docs/performance.md, PyAV)
                self.container.mux(packet)
        except (av.error.FFmpegError, OSError) as e:
            self._drop(f"send failed ({getattr(e, 'strerror', None) or e})")
            return
        if self._down_since is not None:
            self.reconnects += 1
            log.info("RTSP output %s: connected again", self.name)
            self._down_since = None
        self.frames_written += 1
        self.last_write = time.monotonic()

    def _finish(self) -> None:
        if self.container is not None:
            try:
                self.container.mux(self.video.encode(None))
            except (av.error.FFmpegError, OSError):
                pass
            finally:
                try:
                    self.container.close()
                except Exception:  # noqa: BLE001
                    pass
                self.container = None

    def close(self, completed: bool) -> None:
        """Send what is queued (a few seconds at most), then close; a hung server is left behind."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._sender is None:
            return
        self._sender.join(self.backlog_seconds + 3)
        if self._sender.is_alive():
            log.warning("RTSP output %s: the server takes no data; closing without it", self.name)
