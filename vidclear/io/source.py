"""Video input with PyAV: open and validate a file, decode yuv420p frames, forward audio packets."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Optional

import av
from av.video.reformatter import ColorRange

from ..choices import DeinterlaceMode
from ..errors import InputError
from .crop import Cropper, Region
from .deinterlace import FRAMES_PER_FRAME, Deinterlacer
from .tags import kept_tags

log = logging.getLogger(__name__)

# Pixel formats whose planes we can hand to the model as they are.
NATIVE_FORMAT = "yuv420p"


def is_native(frame: av.VideoFrame) -> bool:
    """yuv420p in the limited (MPEG) range, what the models were trained on and what every output is tagged as."""
    return frame.format.name == NATIVE_FORMAT and frame.color_range != ColorRange.JPEG


def to_native(frame: av.VideoFrame) -> av.VideoFrame:
    """Any decoded frame as limited-range yuv420p. Full-range input (yuvj420p, JPEG stills and IP cameras whose
    H.264 says full range; RGB pictures, which swscale turns into full range unless told) is scaled into range:
    reformatting to yuv420p alone leaves full-range values, which the outputs would then show with crushed
    blacks and clipped whites (docs/reliability.md)."""
    if is_native(frame):
        return frame
    full = frame.color_range == ColorRange.JPEG or frame.format.name.startswith("yuvj")
    out = frame.reformat(format=NATIVE_FORMAT, src_color_range=ColorRange.JPEG if full else None,
                         dst_color_range=ColorRange.MPEG)
    out.pts = frame.pts
    if frame.time_base is not None:  # a frame made in memory has none
        out.time_base = frame.time_base
    return out


@dataclass(frozen=True)
class Colour:
    """The YUV matrix, primaries and transfer the frames are in (FFmpeg's AVColorSpace, AVColorPrimaries and
    AVColorTransferCharacteristic numbers), for the outputs to say: untagged, a standard-definition input
    enlarged past 576 lines is shown with high definition's BT.709 matrix, its colours shifted."""

    space: int
    primaries: int
    trc: int


BT709 = Colour(1, 1, 1)
UNSPECIFIED = 2
RGB_PREFIXES = ("rgb", "bgr", "gbr", "argb", "abgr", "0rgb", "0bgr", "gray", "pal8", "ya")


def colour_of(pix_fmt: str, space: int, primaries: int, trc: int, height: int) -> Colour:
    """What the frames' colours are once vidclear has them as yuv420p: an RGB input is turned into YUV with
    BT.601's matrix (swscale's) from sRGB (BT.709 primaries, sRGB transfer); an untagged YUV input is what a
    player shows it as: BT.601 up to 576 lines (SMPTE 170M at 480, BT.470BG at 576), else BT.709."""
    if pix_fmt.startswith(RGB_PREFIXES):
        return Colour(6, 1, 13)
    sd = height <= 576
    guess = Colour(6, 6 if height <= 480 else 5, 6) if sd else BT709
    return Colour(space if space != UNSPECIFIED else guess.space,
                  primaries if primaries != UNSPECIFIED else guess.primaries,
                  trc if trc != UNSPECIFIED else guess.trc)


def stream_colour(stream: av.video.stream.VideoStream) -> Colour:
    cc = stream.codec_context
    return colour_of(cc.pix_fmt or "", cc.colorspace, cc.color_primaries, cc.color_trc, cc.height)


@dataclass
class VideoInfo:
    width: int
    height: int
    time_base: Fraction
    rate: Optional[Fraction]
    frames: int  # 0 when the container does not say
    pix_fmt: str
    codec: str
    duration_s: Optional[float]
    colour: Colour = BT709


class FileSource:
    """A recorded video file. ``frames()`` yields yuv420p ``av.VideoFrame`` objects in order.

    A damaged file does not raise mid-way: decoding stops at the first error and
    ``damage`` says where, so the frames decoded before it can still be written.
    """

    def __init__(self, path: str | Path, on_audio_packet: Callable[[av.Packet], None] | None = None,
                 deinterlace: DeinterlaceMode = "auto", crop: Optional[Region] = None) -> None:
        self.path = Path(path)
        self.deinterlacer = Deinterlacer(deinterlace, str(path))
        self.cropper = Cropper(crop, str(path)) if crop else None
        self.on_audio_packet = on_audio_packet
        self.damage: Optional[str] = None
        self.decoded = 0
        self.rotation = 0  # display rotation of the first frame, degrees counter-clockwise
        self.cutting = False  # cut(): only the seconds [start, end) of the file's timeline are decoded
        self.start = 0.0
        self.end: Optional[float] = None
        self.excerpt: Optional[tuple[float, Optional[float]]] = None  # cut()'s (start, duration), as asked
        self._converted_logged = False
        if not self.path.exists():
            raise InputError(f"input not found: {self.path}")
        if self.path.is_dir():
            raise InputError(f"input is a folder, not a video file: {self.path}; to enhance the files in it, use "
                             f"'vidclear batch {self.path} -o OUTDIR'")
        if not os.access(self.path, os.R_OK):
            raise InputError(f"input is not readable: {self.path}")
        try:
            self.container = av.open(str(self.path), "r")
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise InputError(
                f"cannot open {self.path} as a video (not a video file, or damaged before frame 0): {_reason(e)}"
            ) from None
        if not self.container.streams.video:
            self.container.close()
            raise InputError(f"{self.path} has no video stream")
        self.container_format = self.container.format.name.split(",")[0]
        self.tags = kept_tags(self.container.metadata)  # what an enhanced copy keeps (recording time, title, ...)
        self.video = self.container.streams.video[0]
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        cc = self.video.codec_context
        if cc is None or not cc.width or not cc.height:
            self.container.close()
            raise InputError(f"{self.path}: the video stream has no frame size (damaged or unsupported)")
        per_frame = FRAMES_PER_FRAME[deinterlace]  # 2: a frame per field, at twice the rate, in half the time base
        rate = self.video.average_rate or self.video.guessed_rate
        self.info = VideoInfo(
            width=cc.width,
            height=cc.height,
            time_base=(self.video.time_base or Fraction(1, 90000)) / per_frame,
            rate=rate * per_frame if rate else rate,
            frames=(self.video.frames or 0) * per_frame,
            pix_fmt=cc.pix_fmt or "unknown",
            codec=cc.name,
            duration_s=float(self.container.duration / av.time_base) if self.container.duration else None,
            colour=stream_colour(self.video),
        )
        if self.cropper is not None:
            try:
                self.info.width, self.info.height = self.cropper.fit(cc.width, cc.height)
            except InputError:
                self.container.close()
                raise

    @property
    def audio_stream(self) -> Optional[av.audio.stream.AudioStream]:
        return self.audio

    def _to_native(self, frame: av.VideoFrame) -> av.VideoFrame:
        if not self._converted_logged and not is_native(frame):
            log.info("input pixel format %s%s is converted to %s", frame.format.name,
                     " (full range)" if frame.color_range == ColorRange.JPEG else "", NATIVE_FORMAT)
            self._converted_logged = True
        return to_native(frame)

    def cut(self, start: float, duration: Optional[float]) -> None:
        """Decode only the seconds [start, start + duration) of the video, its timestamps and the audio's moved
        to begin there: an excerpt of a long recording, as ``ffmpeg -ss START -t DURATION`` makes one."""
        # seconds count from the video's first timestamp, where a recording seldom is 0 (MPEG-TS, a cut)
        v = self.video
        origin = float(v.start_time * v.time_base) if v.start_time is not None and v.time_base else 0.0
        c = self.container
        if c.duration:
            length = (c.start_time or 0) / av.time_base + c.duration / av.time_base - origin
            if start >= length:
                raise InputError(f"--start {start:g} is past the end of {self.path} ({length:.1f} s long)")
        self.start, self.end = origin + start, None if duration is None else origin + start + duration
        self.excerpt = (start, duration)
        self.cutting = True
        if start:
            try:
                self.container.seek(int(self.start * av.time_base), backward=True)  # the key frame at or before it
            except av.error.FFmpegError as e:  # a stream that cannot seek (raw H.264): read up to the start
                log.info("cannot seek in %s (%s): decoding from the beginning to %g s", self.path, _reason(e), start)

    def _in_cut(self, pts: Optional[int], time_base: Fraction) -> Optional[bool]:
        """Whether a timestamp lies in the cut; None once it is past the end (and for every later one)."""
        if pts is None or not self.cutting:
            return True
        t = float(pts * time_base)
        if self.end is not None and t >= self.end - 1e-6:
            return None
        return t >= self.start - 1e-6

    def frames(self) -> Iterator[av.VideoFrame]:
        for frame in self.deinterlacer.run(self._decoded()):
            yield self._to_native(frame if self.cropper is None else self.cropper(frame))

    def _decoded(self) -> Iterator[av.VideoFrame]:
        streams = [self.video] + ([self.audio] if self.audio is not None and self.on_audio_packet else [])
        shift_video = round(self.start / self.video.time_base) if self.cutting else 0  # the excerpt begins at 0
        shift_audio = round(self.start / self.audio.time_base) if self.cutting and self.audio is not None else 0
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None and self._in_cut(packet.pts, packet.time_base):
                        if shift_audio:
                            packet.dts -= shift_audio
                            packet.pts = None if packet.pts is None else packet.pts - shift_audio
                        self.on_audio_packet(packet)  # type: ignore[misc]
                    continue
                for frame in packet.decode():
                    wanted = self._in_cut(frame.pts, frame.time_base)
                    if wanted is None:
                        return  # past the end of the cut
                    if not wanted:
                        continue
                    if shift_video:
                        frame.pts -= shift_video
                    if self.decoded == 0:
                        self.rotation = int(frame.rotation or 0) % 360
                        if self.rotation and self.cropper is not None:
                            log.warning("%s is shown rotated by %d degrees: its crop %s is in the stored frame's "
                                        "pixels, before that rotation", self.path, self.rotation,
                                        self.cropper.region)
                    self.decoded += 1
                    yield frame
            # demux ends with an empty packet per stream, which flushes the decoder above.
        except (av.error.FFmpegError, EOFError) as e:
            self.damage = f"input is damaged at frame {self.decoded}: {_reason(e)}"
            log.warning("%s; keeping the %d frames decoded before it", self.damage, self.decoded)

    def close(self) -> None:
        self.container.close()


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return text.split(": '")[0].strip() or type(e).__name__
