"""The stage kinds a pipeline is made of: decode -> [lowlight] -> preprocess -> infer -> encode.

Decode comes in two kinds (files, live sources); lowlight exists only in night
mode. The stages that run a model (lowlight, infer) do it through the inference
service (``vidclear/engine/service.py``). Which stages a pipeline gets, in which
order, is data in ``vidclear/engine/assembly.py``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Callable, Iterable, Iterator, Optional, Protocol, Sequence

import numpy as np

from ..engine.reuse import TileReuse
from ..engine.service import Model, Request, Stream
from ..frame import (
    Frame,
    chroma_size,
    float_to_luma,
    luma_to_float,
    matrix_for,
    merge_planes,
    rgb_to_yuv,
    split_planes,
    upscale_chroma,
    yuv_to_rgb,
)
from ..io.live import LIVE_TIME_BASE, LiveSource
from ..io.source import FileSource
from ..steps.registry import LumaStep
from .night import NightSwitch
from .stage import SourceStage, Stage

log = logging.getLogger(__name__)


class Sink(Protocol):
    """An output: a file, segments, an RTSP server."""

    frames_written: int
    last_write: Optional[float]

    def open(self, width: int, height: int, time_base, rate, colour=None) -> None: ...  # noqa: ANN001, E704
    def set_rotation(self, degrees: int) -> None: ...  # noqa: E704
    def write(self, frame, pts: int) -> None: ...  # noqa: ANN001, E704
    def close(self, completed: bool) -> None: ...  # noqa: E704


class DecodeStage(SourceStage):
    """Reads frames from the source; luma and chroma are views into the decoded frame."""

    name = "decode"

    def __init__(self, source: FileSource, max_frames: Optional[int] = None) -> None:
        super().__init__()
        self.source = source
        self.max_frames = max_frames

    def frames(self) -> Iterator[Frame]:
        info = self.source.info
        # AVI stores decode-order stamps, not presentation times: number frames at the nominal rate.
        synthesize = self.source.container_format == "avi"
        if synthesize:
            log.info("AVI input: timestamps are taken from the frame rate (%s fps)", info.rate)
        step = 1 / (info.rate * info.time_base) if info.rate else 1
        last_pts: Optional[int] = None
        warned = False
        for index, avf in enumerate(self.source.frames()):
            if self.max_frames is not None and index >= self.max_frames:
                return
            y, u, v = split_planes(avf)
            pts = int(round(index * step)) if synthesize or avf.pts is None else avf.pts
            if last_pts is not None and pts <= last_pts:
                if not warned:
                    log.warning("input timestamps go backwards at frame %d: moved forward to stay monotonic", index)
                    warned = True
                pts = last_pts + 1
            last_pts = pts
            yield Frame(
                index=index,
                pts=pts,
                time_base=info.time_base if synthesize else (avf.time_base or info.time_base),
                y=y,
                u=u,
                v=v,
                rotation=self.source.rotation,
                keepalive=avf,
            )

    def close(self, completed: bool) -> None:
        self.source.close()


class PreprocessStage(Stage):
    """Classical steps on luma, then the model's float input: luma (chroma upscaled, bicubic),
    or RGB for a colour model (converted here, in this stage's thread, so that the
    conversion of one frame overlaps the inference of the one before).
    """

    name = "preprocess"

    def __init__(self, scale: int, steps: list[tuple[str, LumaStep]] = (), luma_model: bool = True,
                 luma_float: bool = True) -> None:
        super().__init__()
        self.scale = scale
        self.steps = list(steps)
        self.luma_model = luma_model
        self.luma_float = luma_float  # False: the backend takes the 8-bit luma as it is (converts on its device)

    def process(self, frame: Frame) -> Frame:
        for _name, step in self.steps:
            frame.y = step(frame.y)
        h, w = frame.y.shape
        if not self.luma_model:
            frame.rgb_in = yuv_to_rgb(frame.y, frame.u, frame.v, matrix_for(h))
            return frame
        if self.luma_float:
            frame.luma_in = luma_to_float(frame.y)
        frame.u = upscale_chroma(frame.u, w * self.scale, h * self.scale)
        frame.v = upscale_chroma(frame.v, w * self.scale, h * self.scale)
        return frame


def drop_stale(frames: list[Frame], max_age: Optional[float]) -> tuple[list[Frame], int]:
    """Frames young enough to be worth enhancing (live sources), and how many were not."""
    if max_age is None:
        return frames, 0
    now = time.monotonic()
    kept = [f for f in frames if now - f.captured <= max_age]
    return kept, len(frames) - len(kept)


def model_input(frames: list[Frame], colour: bool) -> np.ndarray:
    """The model's float32 batch (N, C, H, W) for these frames; the per-frame inputs are released.

    Luma models take the luma that preprocess made; a colour model takes RGB,
    made by preprocess when it ran in this chain, else converted here. One
    frame's input goes as it is, without a copy.
    """
    if not colour:
        if frames[0].luma_in is None:  # a backend that takes 8-bit luma: the planes, packed (they have row padding)
            return np.stack([f.y for f in frames])[:, None]
        batch = frames[0].luma_in[None, None] if len(frames) == 1 else np.stack([f.luma_in for f in frames])[:, None]
        for frame in frames:
            frame.luma_in = None
        return batch
    h, w = frames[0].y.shape
    if all(f.rgb_in is not None for f in frames):
        batch = frames[0].rgb_in[None] if len(frames) == 1 else np.stack([f.rgb_in for f in frames])
    else:
        matrix = matrix_for(h)
        batch = np.empty((len(frames), 3, h, w), np.float32)
        for frame, rgb in zip(frames, batch):
            yuv_to_rgb(frame.y, frame.u, frame.v, matrix, out=rgb)
    for frame in frames:
        frame.rgb_in = None
    return batch


def apply_output(frames: list[Frame], out: np.ndarray, colour: bool) -> None:
    """Put the model's output back into the frames' planes (a colour model's RGB becomes YUV again)."""
    if colour:
        matrix = matrix_for(frames[0].y.shape[0])
        for frame, rgb in zip(frames, out):
            frame.y, frame.u, frame.v = rgb_to_yuv(rgb, matrix)
        return
    for frame, y in zip(frames, out):
        frame.y = y[0] if y.dtype == np.uint8 else float_to_luma(y[0])


class PreviousFrame:
    """The last input a two-frame model (``frames: 2``, the denoiser) saw, so that each frame goes to it
    with the one before; the first frame, or one of a new size, goes with itself (a still scene)."""

    def __init__(self) -> None:
        self.last: Optional[np.ndarray] = None

    def pair(self, batch: np.ndarray) -> np.ndarray:
        n, c, h, w = batch.shape
        out = np.empty((n, 2 * c, h, w), np.float32)
        for x, paired in zip(batch, out):
            paired[:c] = x
            paired[c:] = self.last if self.last is not None and self.last.shape == x.shape else x
            self.last = paired[:c]
        return out

    def clear(self) -> None:
        self.last = None


class ServiceStage(Stage):
    """A stage that runs a model through the inference service, with up to ``in_flight`` requests out.

    Frames leave in their input order. Waiting on the service is bounded and
    watches the run's abort; its time is not the stage's work: the stage's busy
    time is its own work plus its requests' inference time per request in flight.
    """

    def __init__(self, stream: Stream, model: Model, in_flight: int = 1) -> None:
        super().__init__()
        self.stream = stream
        self.model = model
        self.in_flight = in_flight
        self.previous: dict[str, PreviousFrame] = {}  # per two-frame model
        self._pending: deque[tuple[Optional[Request], list[Frame], Callable[[np.ndarray], None]]] = deque()
        self.stats.service_busy = 0.0

    def submit(self, frames: list[Frame], batch: Optional[np.ndarray] = None,
               apply: Optional[Callable[[np.ndarray], None]] = None, model: Optional[Model] = None) -> list[Frame]:
        """Send these frames' batch (by default the model's input for them) to ``model`` (by default the
        stage's); return the frames whose results are due, in order. ``apply`` puts the output into the
        frames (by default their planes); an empty batch sends nothing and is applied in its turn."""
        model = model or self.model
        colour = model.spec.channels == 3
        if batch is None:
            batch = model_input(frames, colour)
            if model.spec.frames == 2:
                batch = self.previous.setdefault(model.name, PreviousFrame()).pair(batch)
        if apply is None:
            apply = lambda out: apply_output(frames, out, colour)  # noqa: E731
        request = self.stream.submit(model, batch) if len(batch) else None
        self._pending.append((request, frames, apply))
        done: list[Frame] = []
        while self._pending and (len(self._pending) >= self.in_flight or self._due(self._pending[0][0])):
            done += self._collect()
        return done

    @staticmethod
    def _due(request: Optional[Request]) -> bool:
        return request is None or request.done()

    def _collect(self) -> list[Frame]:
        request, frames, apply = self._pending.popleft()
        out = np.empty((0,), np.float32)
        if request is not None:
            start = time.perf_counter()
            try:
                out = self.stream.wait(request, self.control.abort if self.control else None)
            finally:
                self.stats.service_wait += time.perf_counter() - start
            self.stats.service_busy = (self.stats.service_busy or 0.0) + request.seconds / self.in_flight
        apply(out)
        return frames

    def finish(self) -> Iterable[Frame]:
        while self._pending:
            yield from self._collect()

    def close(self, completed: bool) -> None:
        self._pending.clear()  # their requests are cancelled when the stream closes


class LowLightStage(ServiceStage):
    """The night chain before super-resolution, while night mode says so: the low-light model, then the
    denoiser when the config names one (with the previous frame). The brightened RGB goes straight on
    to the denoiser, without a trip through YUV. The denoiser comes second because that order scored
    better (docs/models.md, tools/night_chain_order.py)."""

    name = "lowlight"

    def __init__(self, stream: Stream, model: Model, switch: NightSwitch, denoise: Optional[Model] = None) -> None:
        super().__init__(stream, model)
        self.switch = switch
        self.denoise = denoise
        self.enhanced = 0

    def process(self, frame: Frame) -> Optional[Frame]:
        if not self.switch.update(frame.y, frame.index):
            for previous in self.previous.values():
                previous.clear()  # the next night starts without a previous frame
            return frame
        self.enhanced += 1
        if self.denoise is None:
            return self.submit([frame])[0]

        def keep_rgb(out: np.ndarray) -> None:
            frame.rgb_in = np.clip(out[0], 0.0, 1.0)

        self.submit([frame], apply=keep_rgb)
        return self.submit([frame], model=self.denoise)[0]


class InferStage(ServiceStage):
    """Runs the model on one frame, or on several when they are queued (``batch_size``).

    With ``in_flight`` > 1 (a file on a multi-core CPU) that many requests are
    out at once, so the service's workers infer them together. With ``max_age``
    (live sources), a frame older than that is dropped before inference: it
    could only arrive late, and latency must stay bounded. With ``reuse`` (a
    fixed camera), only the tiles whose input changed are sent.
    """

    name = "infer"

    def __init__(self, stream: Stream, model: Model, batch_size: int = 1, max_age: Optional[float] = None,
                 in_flight: int = 1, reuse: Optional[TileReuse] = None) -> None:
        super().__init__(stream, model, in_flight)
        self.batch_size = batch_size
        self.max_age = max_age
        self.stale = 0
        self.reuse = reuse

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        frames, stale = drop_stale(frames, self.max_age)
        self.stale += stale
        if not frames:
            return []
        if self.reuse is None:
            return self.submit(frames)
        return [done for frame in frames for done in self._submit_reusing(frame)]  # each frame builds on the last

    def _submit_reusing(self, frame: Frame) -> list[Frame]:
        reuse = self.reuse
        assert reuse is not None
        tiles = reuse.plan(frame.y)
        if tiles is None:  # the whole frame: as without reuse, and its output is kept
            def whole(out: np.ndarray) -> None:
                apply_output([frame], out, False)
                reuse.keep(frame.y)

            return self.submit([frame], apply=whole)
        batch = reuse.windows(frame.luma_in if frame.luma_in is not None else frame.y, tiles)
        frame.luma_in = None

        def pasted(out: np.ndarray) -> None:
            frame.y = reuse.paste(tiles, out)

        return self.submit([frame], batch, pasted)


class LiveDecodeStage(SourceStage):
    """Reads a live source; pts come from its clock (the camera's spacing on our clock), monotonic
    across reconnects."""

    name = "decode"

    def __init__(self, source: LiveSource, max_frames: Optional[int] = None) -> None:
        super().__init__()
        self.source = source
        self.max_frames = max_frames

    def setup(self) -> None:
        assert self.control is not None
        self.source.stop = self.control.stop_reading  # a stop request also ends a reconnect wait

    def frames(self) -> Iterator[Frame]:
        for index, (avf, captured) in enumerate(self.source.frames()):
            y, u, v = split_planes(avf)
            pts = self.source.pts(avf, captured)  # strictly increasing: the clock keeps its stamps apart
            yield Frame(index, pts, LIVE_TIME_BASE, y, u, v, captured=captured, keepalive=avf)
            if self.max_frames is not None and index + 1 >= self.max_frames:
                return  # now, not after waiting for a frame past the last one asked for

    def close(self, completed: bool) -> None:
        self.source.close()


class EncodeStage(Stage):
    """Merges the planes into a frame with the input's pts and hands it to every sink.

    Sinks are opened before the run with the output size; 4:2:0 needs even
    sizes, so an odd output is cropped by one row/column to fit it. Each frame's
    latency from capture to encoded is recorded (and given to ``on_latency``),
    and so is when each sink last took a frame: health is judged by output.
    """

    name = "encode"

    def __init__(self, sinks: Sequence[Sink], size: tuple[int, int],
                 on_latency: Optional[Callable[[float], None]] = None) -> None:
        super().__init__()
        self.sinks = list(sinks)
        self.size = size
        self.on_latency = on_latency
        self.latencies: deque[float] = deque(maxlen=10_000)  # the recent ones: a camera runs for months
        self.started = time.monotonic()

    @property
    def last_written(self) -> list[Optional[float]]:
        """When each sink last got a frame out (time.monotonic()); an RTSP output that is down or
        behind reports its own, later than the frames handed to it."""
        return [sink.last_write for sink in self.sinks]

    def setup(self) -> None:
        self.started = time.monotonic()

    def process(self, frame: Frame) -> None:
        ew, eh = self.size
        cw, ch = chroma_size(ew, eh)
        out = merge_planes(frame.y[:eh, :ew], frame.u[:ch, :cw], frame.v[:ch, :cw])
        out.time_base = frame.time_base
        out.pts = frame.pts
        for sink in self.sinks:
            if sink.frames_written == 0 and frame.index == 0:
                sink.set_rotation(frame.rotation)
            sink.write(out, frame.pts)
        frame.keepalive = None
        latency = time.monotonic() - frame.captured
        self.latencies.append(latency)
        if self.on_latency is not None:
            self.on_latency(latency)
        return None

    def close(self, completed: bool) -> None:
        errors = []
        for sink in self.sinks:
            try:
                sink.close(completed)
            except Exception as e:  # noqa: BLE001 - close every sink, then report the first failure
                errors.append(e)
        if errors:
            raise errors[0]
