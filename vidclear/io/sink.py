"""Video output with PyAV: encode yuv420p frames keeping their pts, pass audio through.

The file is written under a temporary name beside the output and renamed at the
end, so an error never leaves a half-written file at the output path, while an
interrupted run (Ctrl-C) still finalises a playable file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Optional

import av
from av.video.reformatter import ColorRange

from ..config import AudioConfig, EncoderConfig
from ..errors import OutputError, write_error
from .image_sink import is_image_output
from .live import is_rtsp
from .names import PARTIAL_TAG, fitting, free_name, name_max
from .segment_names import is_segment_pattern, pattern_root
from .source import Colour
from .tags import RecordingTags

log = logging.getLogger(__name__)

CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".ts": "mpegts"}

# Audio codecs each container takes as they are (anything else is encoded to AAC).
AUDIO_COPY_OK = {
    "mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    "mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    "matroska": None,  # takes any codec
    "mpegts": {"aac", "mp3", "mp2", "ac3", "eac3", "opus"},
}


def container_format(path: Path) -> str:
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(
            f"unsupported output extension '{path.suffix or '(none)'}' for {path}; use one of "
            + " ".join(sorted(CONTAINERS)) + " (or .png .jpg for one picture)"
        )
    return fmt


def check_output_path(output: Path, input_path: Optional[Path] = None) -> None:
    """Fail early, with one clear line, on an output that cannot be written."""
    if output.is_dir():
        if input_path is None:  # a camera's output
            raise OutputError(f"output path is a folder: {output}; name a file or a segment pattern in it (such as "
                              f"{output / 'cam_%Y%m%d_%H%M%S.ts'})")
        # not the input's own name: the folder may be the input's, and a still stays a still
        ext = input_path.suffix.lower() if is_image_output(input_path) else ".mp4"
        example = output / f"{input_path.stem}_enhanced{ext}"
        raise OutputError(f"output path is a folder: {output}; name a file in it (such as {example}), or use "
                          "'vidclear batch' to enhance many files into a folder")
    if not is_image_output(output):
        container_format(output)
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"output directory does not exist: {parent}")
    if not parent.is_dir():
        raise OutputError(f"output directory is not a directory: {parent}")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"output directory is not writable: {parent}")
    if input_path is not None and input_path.exists() and output.exists() and output.samefile(input_path):
        raise OutputError(f"output path is the input file: {output}")


def check_target(target: str, input_path: Optional[Path] = None) -> None:
    """``check_output_path`` for any output name: a file or a segment pattern (rtsp:// targets are tried live).

    Called before a model is loaded, so a mistyped output costs nothing."""
    if is_rtsp(target):
        return
    if is_segment_pattern(target):  # dated folders below the pattern's root are made as segments need them
        root, below = pattern_root(target)
        check_output_path(root / below[-1])
        return
    check_output_path(Path(target), input_path)


# x264's presets on NVENC's scale (p1 fastest .. p7 best)
NVENC_PRESETS = {"ultrafast": "p1", "superfast": "p2", "veryfast": "p3", "faster": "p4", "fast": "p4",
                 "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7"}
_PROBED: dict[str, Optional[str]] = {}


def encoder_problem(codec: str) -> Optional[str]:
    """Why ``codec`` cannot encode here (None when it can), found by opening a tiny encoder once.

    A hardware encoder is in PyAV's wheel whether or not the machine has one (an
    H100/H200 has NVDEC but no NVENC; a CPU box has neither): only opening it tells.
    """
    if codec not in _PROBED:
        try:
            ctx = av.CodecContext.create(codec, "w")
            ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = 64, 64, "yuv420p", Fraction(1, 25)
            ctx.open()
            _PROBED[codec] = None
        except (av.error.FFmpegError, OSError, ValueError) as e:
            _PROBED[codec] = str(getattr(e, "strerror", None) or e)
    return _PROBED[codec]


def resolve_codec(codec: str) -> str:
    """The encoder to use: ``auto`` becomes h264_nvenc when it opens here, else libx264 (logged once,
    with the cause); a hardware encoder asked for by name must open."""
    if codec == "auto":
        problem = encoder_problem("h264_nvenc")
        if problem is None:
            return "h264_nvenc"
        if "auto" not in _PROBED:
            log.info("encoder auto: h264_nvenc cannot open here (%s): encoding with libx264", problem)
            _PROBED["auto"] = problem
        return "libx264"
    if codec.endswith("_nvenc"):
        problem = encoder_problem(codec)
        if problem is not None:
            raise OutputError(f"encoder {codec} cannot open here ({problem}); use codec: auto or libx264")
    return codec


def add_video_stream(
    container: av.container.OutputContainer,
    encoder: EncoderConfig,
    width: int,
    height: int,
    time_base: Fraction,
    rate: Optional[Fraction],
    live: bool = False,
    colour: Optional[Colour] = None,
) -> av.video.stream.VideoStream:
    """The one place an encoder is configured (files, segments and RTSP alike). ``colour``: the input's,
    written into the stream (limited range always: the frames are, docs/reliability.md)."""
    codec = resolve_codec(encoder.codec)
    stream = container.add_stream(codec, rate=rate or Fraction(30))
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    if colour is not None:
        cc = stream.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = (colour.space, colour.primaries,
                                                                            colour.trc, ColorRange.MPEG)
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    options = {"crf": str(encoder.crf), "preset": encoder.preset}
    if codec.endswith("_nvenc"):
        options = {"preset": NVENC_PRESETS[encoder.preset], "rc": "vbr", "cq": str(encoder.crf)}
        if live:
            options.update(tune="ll", bf="0")  # low latency, no B-frames
    elif codec == "libx265":
        options["x265-params"] = "log-level=error" + (":bframes=0" if live else "")
    else:  # libx264
        # Left to pick its code by CPU, libx264 encodes the same frames to different bytes from run to
        # run on AVX-512 machines; canonical code makes every run, and every node, give one output
        # at no measured cost in speed (docs/performance.md, "Repeatable encodes").
        options["x264-params"] = "cpu-independent=1"
        if live:
            options["tune"] = "zerolatency"  # no B-frames, no lookahead: frames leave as they come
        elif container.format.name == "mpegts":
            # MPEG-TS cannot hold the negative decode times B-frames need at the start, so the muxer would
            # shift every timestamp by the B-frame delay; without B-frames each frame keeps the input's time
            options["bf"] = "0"
    stream.options = options
    if encoder.threads:
        stream.codec_context.thread_count = encoder.threads
    return stream


def temporary_path(output: Path) -> Path:
    """The name ``output`` is written under until it is whole: '.STEM.vidclear-partial.EXT' beside it, the stem
    shortened if that name would be longer than the file system allows."""
    tag = f"{PARTIAL_TAG}{output.suffix}"
    room = name_max(output.parent) - 1 - len(os.fsencode(tag))
    return output.with_name(f".{fitting(output.stem, room)}{tag}")


def claim_temporary(tmp: Path, output: Path) -> BinaryIO:
    """The temporary file of ``output``, created and locked (flock) for this writer: a second run writing the
    same output at the same time is refused instead of writing into the first one's file. The lock goes with
    the returned file; it is taken on the inode at ``tmp`` now (a run that has just renamed its file into place
    leaves ``tmp`` to a new one)."""
    busy = OutputError(f"another vidclear run is writing {output}; wait for it or choose another output")
    for _ in range(3):
        try:
            claim = tmp.open("ab")
        except OSError as e:
            raise OutputError(f"cannot write {output}: {e.strerror or e}") from None
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            claim.close()
            raise busy from None
        try:
            if os.stat(tmp).st_ino == os.fstat(claim.fileno()).st_ino:
                return claim
        except FileNotFoundError:
            pass
        claim.close()  # renamed into place by the run that held it: take the new file
    raise busy


def keep_cut_short(tmp: Path, output: Path) -> Optional[Path]:
    """A camera's recording whose writer died (a kill, a power cut) is left at ``tmp``, playable up to its last
    fragment; the next run writing ``output`` would start over it. Keep it beside the output instead, named by
    when it was last written (``door.cut-20261204-031500.mp4``); None when there is none (or its writer lives)."""
    try:
        held = tmp.open("rb")
    except OSError:
        return None
    with held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a run is writing it: claim_temporary says so
        st = os.fstat(held.fileno())
        if st.st_size == 0:
            return None
        when = time.strftime("%Y%m%d-%H%M%S", time.localtime(st.st_mtime))
        kept = free_name(output.with_name(f"{output.stem}.cut-{when}{output.suffix}"))
        try:
            os.rename(tmp, kept)
        except OSError as e:
            log.warning("an earlier recording of %s was cut short, and cannot be kept as %s (%s): it is written "
                        "over", output, kept, e.strerror or e)
            return None
    log.warning("an earlier recording of %s was cut short (its run died): kept as %s", output, kept)
    return kept


# A recording whose writer may die mid-way (a camera's): fragments of at most a second (a key frame starts one
# too), each playable once written, and every packet handed to the disk as it is muxed. An MP4 or MOV written
# the usual way has its index only at the end; fragments at key frames alone would lose up to a whole GOP.
FRAGMENTED_MP4 = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "frag_duration": "1000000"}


def recording_options(container: str) -> dict[str, str]:
    """Muxer options for a live recording in ``container``: it plays up to the last packet even after a kill."""
    return {"flush_packets": "1", **(FRAGMENTED_MP4 if container in ("mp4", "mov") else {})}


class FileSink:
    """Encodes frames into ``output``; ``close(completed)`` renames or removes the temporary file."""

    def __init__(
        self,
        output: str | Path,
        encoder: EncoderConfig,
        audio: AudioConfig,
        audio_template: Optional[av.audio.stream.AudioStream] = None,
        tags: Optional[RecordingTags] = None,
        live: bool = False,
    ) -> None:
        self.output = Path(output)
        self.live = live  # a camera's recording: written so that it plays up to a crash (recording_options)
        self.tags = tags or RecordingTags()  # the source's, and how this copy was made: written with the first frame
        self.format = container_format(self.output)
        self.encoder = encoder
        self.audio_cfg = audio
        self.audio_template = audio_template if audio.mode != "off" else None
        self.tmp = temporary_path(self.output)
        self.container: Optional[av.container.OutputContainer] = None
        self.video: Optional[av.video.stream.VideoStream] = None
        self.audio_out: Optional[av.audio.stream.AudioStream] = None
        self.audio_decoder = None  # set when the audio is re-encoded
        self._pending_audio: deque[av.Packet] = deque()
        self._audio_lock = threading.Lock()
        self.frames_written = 0
        self.last_write: Optional[float] = None  # time.monotonic() of the last frame written
        self.audio_dropped = 0  # damaged input audio packets that could not be written
        self.size: Optional[tuple[int, int]] = None
        self._claim: Optional[BinaryIO] = None  # the locked temporary file, from open() to close()

    # Called from the decode thread; muxed by the encode thread (one writer per container).
    def add_audio_packet(self, packet: av.Packet) -> None:
        with self._audio_lock:
            self._pending_audio.append(packet)

    def open(self, width: int, height: int, time_base: Fraction, rate: Optional[Fraction],
             colour: Optional[Colour] = None) -> None:
        """Create the file and its streams. Called before the run starts, while the
        input (whose audio stream is the template) is certainly still open."""
        if self.live:
            keep_cut_short(self.tmp, self.output)
        self._claim = claim_temporary(self.tmp, self.output)
        try:
            try:
                self.container = av.open(str(self.tmp), "w", format=self.format,
                                         options=recording_options(self.format) if self.live else {})
            except (av.error.FFmpegError, OSError) as e:
                raise OutputError(f"cannot write {self.output}: {getattr(e, 'strerror', None) or e}") from None
            self.video = add_video_stream(self.container, self.encoder, width, height, time_base, rate,
                                          live=self.live, colour=colour)
            self.size = (width, height)
            if self.audio_template is not None:
                self._open_audio(self.audio_template)
        except BaseException:
            self.close(False)  # an encoder that cannot open here: no temporary file is left behind
            raise

    def set_rotation(self, degrees: int) -> None:
        """Keep the input's display rotation; only possible before the first frame."""
        assert self.video is not None and self.frames_written == 0
        if degrees:
            self.video.set_display_rotation(degrees)

    def _open_audio(self, template: av.audio.stream.AudioStream) -> None:
        assert self.container is not None
        codec = template.codec_context.name
        allowed = AUDIO_COPY_OK[self.format]
        copy = self.audio_cfg.mode == "copy" or (
            self.audio_cfg.mode == "auto" and (allowed is None or codec in allowed)
        )
        if copy:
            self.audio_out = self.container.add_stream_from_template(template)
            return
        log.info("audio codec %s does not go into %s as it is: encoding it to AAC", codec, self.format)
        self.audio_decoder = av.CodecContext.create(template.codec_context.name, "r")
        self.audio_decoder.extradata = template.codec_context.extradata
        self.audio_decoder.sample_rate = template.codec_context.sample_rate
        self.audio_decoder.layout = template.codec_context.layout
        self.audio_decoder.format = template.codec_context.format
        self.audio_out = self.container.add_stream("aac", rate=template.codec_context.sample_rate)
        self.audio_out.layout = template.codec_context.layout
        self.audio_out.bit_rate = self.audio_cfg.bitrate

    def _mux_audio(self) -> None:
        if self.audio_out is None:
            return
        with self._audio_lock:
            packets = list(self._pending_audio)
            self._pending_audio.clear()
        for packet in packets:
            try:
                if self.audio_decoder is None:
                    packet.stream = self.audio_out
                    self.container.mux(packet)  # type: ignore[union-attr]
                else:
                    for frame in self.audio_decoder.decode(packet):
                        frame.pts = None  # the encoder numbers samples itself
                        self.container.mux(self.audio_out.encode(frame))  # type: ignore[union-attr]
            except (av.error.FFmpegError, ValueError) as e:
                # The input's audio is damaged (timestamps out of order, undecodable data): the video
                # matters more than one packet of sound, so the packet is dropped, counted and logged once.
                self.audio_dropped += 1
                if self.audio_dropped == 1:
                    log.warning("input audio is damaged (%s): dropping the audio packets that cannot be written",
                                getattr(e, "strerror", None) or e)

    def write(self, frame: av.VideoFrame, pts: int) -> None:
        assert self.container is not None and self.video is not None
        frame.pts = pts
        if self.frames_written == 0:  # the file's header is written with its first packet
            self.tags.write_to(self.container)
        try:
            self.container.mux(self.video.encode(frame))
        except (av.error.FFmpegError, OSError) as e:
            raise write_error(e, self.output) from None
        self.frames_written += 1
        self.last_write = time.monotonic()
        self._mux_audio()

    def close(self, completed: bool) -> None:
        """Flush and rename into place when ``completed``; else delete.
        A file without a single frame is never kept, and neither is one that could not be finished
        (a full disk): the temporary file is removed whatever happens."""
        if self._claim is None:
            return  # never opened, or closed: the temporary file (if any) is another run's
        try:
            self._finish(completed)
        finally:
            self._claim.close()  # releases the lock
            self._claim = None

    def _finish(self, completed: bool) -> None:
        if self.frames_written == 0:
            completed = False
        failure: Optional[BaseException] = None
        if self.container is not None:
            try:
                if completed:
                    self.container.mux(self.video.encode(None))  # type: ignore[union-attr]
                    self._mux_audio()
                    if self.audio_decoder is not None and self.audio_out is not None:
                        self.container.mux(self.audio_out.encode(None))
            except (av.error.FFmpegError, OSError) as e:
                failure = e
            try:
                self.container.close()
            except (av.error.FFmpegError, OSError) as e:
                failure = failure or e
            self.container = None
        if failure is not None or not completed:
            self.tmp.unlink(missing_ok=True)
            if failure is not None and completed:
                raise write_error(failure, self.output)
        else:
            try:  # a temporary file that vanished (its folder removed) must not pass for a written output
                os.replace(self.tmp, self.output)
            except OSError as e:
                raise write_error(e, self.output) from None
