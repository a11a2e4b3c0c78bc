"""A region of the input, enhanced alone: the plate lane of a wide camera, a doorway, a till.

Cropping before the model spends its time, and an x4 model's output size, on the region
that matters: a 320x180 region of a 1080p camera at x4 is 1280x720 instead of 7680x4320.
The region is in the stored frame's pixels (before any display rotation), after
deinterlacing. 4:2:0 chroma has one sample per 2x2 luma pixels, so the region's corner
and size are made even (rounded down, logged). FFmpeg's ``crop`` filter moves the plane
pointers, so a cropped frame shares the decoded one's memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import av

from ..errors import RegionOutside
from .filter_graph import one_filter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> "Region":
        """'X,Y,W,H', as the config's ``crop`` holds it (checked there: config.check_crop)."""
        x, y, w, h = (int(v) for v in text.split(","))
        return cls(x, y, w, h)

    def __str__(self) -> str:
        return f"{self.x},{self.y},{self.width},{self.height}"

    def even(self) -> "Region":
        return Region(self.x & ~1, self.y & ~1, max(2, self.width & ~1), max(2, self.height & ~1))


class Cropper:
    """One stream's crop: ``fit(width, height)`` checks the region against the frame size once it is known,
    ``__call__(frame)`` gives the region of a frame of that size."""

    def __init__(self, region: Region, label: str) -> None:
        self.label = label  # names the input in errors and the log
        self.region = region.even()
        if self.region != region:
            log.info("%s: crop %s made even for 4:2:0 chroma: %s", label, region, self.region)
        self.frame: Optional[tuple[int, int]] = None  # the size of the frames the region is cut from
        self._graph: Optional[av.filter.Graph] = None
        self._shape: Optional[tuple[int, int, str]] = None

    def fit(self, width: int, height: int) -> tuple[int, int]:
        """The cropped size; a region that reaches past the frame is the user's mistake, said in one line."""
        r = self.region
        if r.x + r.width > width or r.y + r.height > height:
            raise RegionOutside(f"crop {r} (x, y, width, height) reaches past the {width}x{height} frame of "
                                f"{self.label}: it must end by x {width} and y {height}")
        self.frame = (width, height)
        return r.width, r.height

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        shape = (frame.width, frame.height, frame.format.name)
        if shape != self._shape:
            self._open(frame, shape)
        pts, time_base = frame.pts, frame.time_base
        self._graph.push(frame)
        out = self._graph.pull()
        out.pts, out.time_base = pts, time_base
        return out

    def _open(self, frame: av.VideoFrame, shape: tuple[int, int, str]) -> None:
        self.fit(frame.width, frame.height)
        r = self.region
        self._graph = one_filter(frame, "crop", f"w={r.width}:h={r.height}:x={r.x}:y={r.y}:exact=1")
        self._shape = shape
