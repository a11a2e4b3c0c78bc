"""The four stages of the enhance pipeline: decode -> preprocess -> infer -> encode."""

from __future__ import annotations

import logging
from typing import Iterator, Optional

import numpy as np

from ..backends.base import Backend
from ..frame import Frame, chroma_size, float_to_luma, luma_to_float, merge_planes, split_planes, upscale_chroma
from ..io.sink import FileSink
from ..io.source import FileSource
from .stage import SourceStage, Stage

log = logging.getLogger(__name__)


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
    """Luma to the model's float input; chroma upscaled to the output size (bicubic)."""

    name = "preprocess"

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def process(self, frame: Frame) -> Frame:
        h, w = frame.y.shape
        frame.luma_in = luma_to_float(frame.y)
        frame.u = upscale_chroma(frame.u, w * self.scale, h * self.scale)
        frame.v = upscale_chroma(frame.v, w * self.scale, h * self.scale)
        return frame


class InferStage(Stage):
    """Runs the model on the luma of one frame, or of several when they are queued."""

    name = "infer"

    def __init__(self, backend: Backend, batch_size: int = 1) -> None:
        super().__init__()
        self.backend = backend
        self.batch_size = batch_size

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        batch = np.stack([f.luma_in for f in frames])[:, None]
        out = self.backend.infer(batch)
        for frame, y in zip(frames, out):
            frame.y = float_to_luma(y[0])
            frame.luma_in = None
        return frames


class EncodeStage(Stage):
    """Merges the planes into a frame with the input's pts and encodes it.

    The sink is opened before the run with the output size; 4:2:0 needs even
    sizes, so an odd output is cropped by one row/column to fit it.
    """

    name = "encode"

    def __init__(self, sink: FileSink) -> None:
        super().__init__()
        self.sink = sink

    def process(self, frame: Frame) -> None:
        assert self.sink.size is not None, "open the sink before the run"
        ew, eh = self.sink.size
        if self.sink.frames_written == 0:
            self.sink.set_rotation(frame.rotation)
        cw, ch = chroma_size(ew, eh)
        out = merge_planes(frame.y[:eh, :ew], frame.u[:ch, :cw], frame.v[:ch, :cw])
        out.pts = frame.pts
        out.time_base = frame.time_base
        self.sink.write(out)
        frame.keepalive = None
        return None

    def close(self, completed: bool) -> None:
        self.sink.close(completed)
