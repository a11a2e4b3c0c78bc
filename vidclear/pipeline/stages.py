"""The stages of the enhance pipeline: decode -> [lowlight] -> preprocess -> infer -> encode.

Decode comes in two kinds (files, live sources); lowlight exists only in night mode.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterable, Iterator, Optional, Protocol, Sequence

import numpy as np

from ..backends.base import Backend
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

    def open(self, width: int, height: int, time_base, rate) -> None: ...  # noqa: ANN001, E704
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

    def __init__(self, scale: int, steps: list[tuple[str, LumaStep]] = (), luma_model: bool = True) -> None:
        super().__init__()
        self.scale = scale
        self.steps = list(steps)
        self.luma_model = luma_model

    def process(self, frame: Frame) -> Frame:
        for _name, step in self.steps:
            frame.y = step(frame.y)
        h, w = frame.y.shape
        if not self.luma_model:
            frame.rgb_in = yuv_to_rgb(frame.y, frame.u, frame.v, matrix_for(h))
            return frame
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


def run_rgb_model(backend: Backend, frames: list[Frame]) -> None:
    """Run a colour model on frames: YUV -> RGB (unless preprocess made it) -> model -> YUV, in place."""
    h, w = frames[0].y.shape
    matrix = matrix_for(h)
    if all(f.rgb_in is not None for f in frames):
        batch = frames[0].rgb_in[None] if len(frames) == 1 else np.stack([f.rgb_in for f in frames])
    else:
        batch = np.empty((len(frames), 3, h, w), np.float32)
        for frame, rgb in zip(frames, batch):
            yuv_to_rgb(frame.y, frame.u, frame.v, matrix, out=rgb)
    for frame in frames:
        frame.rgb_in = None
    out = backend.infer(batch)
    for frame, rgb in zip(frames, out):
        frame.y, frame.u, frame.v = rgb_to_yuv(rgb, matrix)


class LowLightStage(Stage):
    """The low-light model before super-resolution, while night mode says so."""

    name = "lowlight"

    def __init__(self, backend: Backend, switch: NightSwitch) -> None:
        super().__init__()
        self.backend = backend
        self.switch = switch
        self.enhanced = 0

    def process(self, frame: Frame) -> Frame:
        if self.switch.update(frame.y, frame.index):
            run_rgb_model(self.backend, [frame])
            self.enhanced += 1
        return frame


def plan_infer_workers(setting: int | str, device: str, live: bool, cores: int) -> tuple[int, Optional[int]]:
    """(workers, threads per inference call) for the infer stage.

    On a CPU, a file is fastest with two frames in flight, each on half the
    cores: one inference split over all cores waits for its slowest thread,
    and the decoder and encoder keep taking cores from it (FIELD_NOTES 5). A
    live source keeps one frame at a time on all cores: latency first. A GPU
    runs one call at a time (its backends reuse one set of buffers), so it
    always gets one worker. None threads means all cores.
    """
    if device != "cpu":
        if setting not in ("auto", 1):
            log.info("pipeline.infer_workers=%s applies to CPUs only: one inference at a time on %s", setting, device)
        return 1, None
    workers = (2 if not live and cores >= 2 else 1) if setting == "auto" else int(setting)
    if workers == 1:
        return 1, None
    return workers, max(1, cores // workers)


class InferStage(Stage):
    """Runs the model on the luma of one frame, or of several when they are queued.

    With ``workers`` > 1, that many batches are inferred at once on a small
    thread pool (the runtimes release the GIL) and leave in their input order.
    With ``max_age`` (live sources), a frame older than that is dropped before
    inference: it could only arrive late, and latency must stay bounded.
    """

    name = "infer"

    def __init__(self, backend: Backend, batch_size: int = 1, max_age: Optional[float] = None,
                 workers: int = 1) -> None:
        super().__init__()
        self.backend = backend
        self.batch_size = batch_size
        self.max_age = max_age
        self.workers = workers
        self.stale = 0
        self.colour = backend.spec.channels == 3
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pending: deque[Future] = deque()

    def setup(self) -> None:
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="vidclear-infer")
            self.stats.pooled = 0.0

    def _pooled_infer(self, frames: list[Frame]) -> tuple[list[Frame], float]:
        start = time.perf_counter()
        return self.infer(frames), time.perf_counter() - start

    def _collect(self, job: Future) -> list[Frame]:
        """A finished job's frames; its time counts towards the stage's busy time (per worker)."""
        frames, seconds = job.result()
        self.stats.pooled = (self.stats.pooled or 0.0) + seconds / self.workers
        return frames

    def infer(self, frames: list[Frame]) -> list[Frame]:
        if self.colour:
            run_rgb_model(self.backend, frames)
            return frames
        batch = np.stack([f.luma_in for f in frames])[:, None]
        out = self.backend.infer(batch)
        for frame, y in zip(frames, out):
            frame.y = float_to_luma(y[0])
            frame.luma_in = None
        return frames

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        frames, stale = drop_stale(frames, self.max_age)
        self.stale += stale
        if not frames:
            return frames
        if self._pool is None:
            return self.infer(frames)
        self._pending.append(self._pool.submit(self._pooled_infer, frames))
        done: list[Frame] = []
        # In order: wait for the oldest while all workers are busy; pass on whatever is already finished.
        while self._pending and (len(self._pending) >= self.workers or self._pending[0].done()):
            done += self._collect(self._pending.popleft())
        return done

    def finish(self) -> Iterable[Frame]:
        while self._pending:
            yield from self._collect(self._pending.popleft())

    def close(self, completed: bool) -> None:
        for job in self._pending:
            job.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class LiveDecodeStage(SourceStage):
    """Reads a live source; pts come from the arrival time, so they stay monotonic across reconnects."""

    name = "decode"

    def __init__(self, source: LiveSource, max_frames: Optional[int] = None) -> None:
        super().__init__()
        self.source = source
        self.max_frames = max_frames

    def setup(self) -> None:
        assert self.control is not None
        self.source.stop = self.control.stop_reading  # a stop request also ends a reconnect wait

    def frames(self) -> Iterator[Frame]:
        last_pts = -1
        for index, (avf, captured) in enumerate(self.source.frames()):
            if self.max_frames is not None and index >= self.max_frames:
                return
            y, u, v = split_planes(avf)
            pts = max(self.source.pts(captured), last_pts + 1)
            last_pts = pts
            yield Frame(index, pts, LIVE_TIME_BASE, y, u, v, captured=captured, keepalive=avf)

    def close(self, completed: bool) -> None:
        self.source.close()


class EncodeStage(Stage):
    """Merges the planes into a frame with the input's pts and hands it to every sink.

    Sinks are opened before the run with the output size; 4:2:0 needs even
    sizes, so an odd output is cropped by one row/column to fit it. Each frame's
    latency from capture to encoded is recorded.
    """

    name = "encode"

    def __init__(self, sinks: Sequence[Sink], size: tuple[int, int]) -> None:
        super().__init__()
        self.sinks = list(sinks)
        self.size = size
        self.latencies: deque[float] = deque(maxlen=100_000)

    def process(self, frame: Frame) -> None:
        ew, eh = self.size
        cw, ch = chroma_size(ew, eh)
        out = merge_planes(frame.y[:eh, :ew], frame.u[:ch, :cw], frame.v[:ch, :cw])
        out.time_base = frame.time_base
        for sink in self.sinks:
            if sink.frames_written == 0 and frame.index == 0:
                sink.set_rotation(frame.rotation)
            sink.write(out, frame.pts)
        frame.keepalive = None
        self.latencies.append(time.monotonic() - frame.captured)
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
