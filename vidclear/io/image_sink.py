"""A still picture as the output (``.png``, ``.jpg``): one enhanced frame to read, zoom into and print.

A snapshot from a camera or a still from an incident is read as a picture, not as a
one-frame video: ``vidclear enhance plate.png plate_x3.png``, or
``vidclear enhance rtsp://cam/stream snap.png --max-frames 1``. PNG keeps every
pixel; JPEG is written at quality 95. The picture appears whole or not at all
(a temporary file renamed into place), like every other output.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
from av.video.reformatter import ColorRange, Colorspace
import cv2
import numpy as np

from ..errors import OutputError
from ..export.files import write_atomically
from .names import PARTIAL_TAG
from .source import Colour

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
# the input's YUV matrix (AVColorSpace) as swscale names it, to turn the frame into RGB as a player would
SWS_MATRIX = {1: Colorspace.ITU709, 5: Colorspace.ITU601, 6: Colorspace.ITU601, 9: Colorspace.BT2020,
              10: Colorspace.BT2020}
JPEG_QUALITY = 95
VIDEO_INSTEAD = "name a video (.mp4 .mkv .mov .ts) for all of them"


def is_image_output(target: str | Path) -> bool:
    return Path(target).suffix.lower() in IMAGE_EXTENSIONS


def check_one_picture(target: str | Path, frames: Optional[int], max_frames: Optional[int], live: bool) -> None:
    """Before a model is loaded: a picture holds one frame, so a video or camera needs --max-frames 1."""
    if not is_image_output(target) or max_frames == 1:
        return
    if live:
        raise OutputError(f"{target} is a picture: from a camera give --max-frames 1 for a snapshot, or "
                          f"{VIDEO_INSTEAD}")
    if frames and frames > 1:
        raise OutputError(f"{target} is a picture, and the input has {frames} frames: give --max-frames 1 for the "
                          f"first, or {VIDEO_INSTEAD}")


class ImageSink:
    """Keeps the one frame it is given and writes it as a picture when the run completes."""

    def __init__(self, output: str | Path) -> None:
        self.output = Path(output)
        self.frames_written = 0
        self.last_write: Optional[float] = None
        self.size: Optional[tuple[int, int]] = None
        self.rotation = 0
        self.picture: Optional[np.ndarray] = None  # BGR, as OpenCV writes it
        self.matrix = Colorspace.ITU601

    def open(self, width: int, height: int, time_base: Fraction, rate: Optional[Fraction],
             colour: Optional[Colour] = None) -> None:
        self.size = (width, height)
        self.matrix = SWS_MATRIX.get(colour.space, SWS_MATRIX[6]) if colour is not None else SWS_MATRIX[6]

    def set_rotation(self, degrees: int) -> None:
        """A video's display rotation (counter-clockwise) is turned into the pixels: a picture has no matrix."""
        self.rotation = degrees

    def write(self, frame: av.VideoFrame, pts: int) -> None:
        if self.frames_written:  # an input whose frame count was not known before the run
            raise OutputError(f"{self.output} is a picture, and the input has more than one frame: give "
                              f"--max-frames 1 for the first, or {VIDEO_INSTEAD}")
        picture = frame.reformat(format="bgr24", src_colorspace=self.matrix, src_color_range=ColorRange.MPEG,
                                 dst_color_range=ColorRange.JPEG).to_ndarray()
        self.picture = np.ascontiguousarray(np.rot90(picture, (self.rotation // 90) % 4))
        self.frames_written = 1
        self.last_write = time.monotonic()

    def close(self, completed: bool) -> None:
        if not completed or self.picture is None:
            return
        params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if self.output.suffix.lower() != ".png" else []
        ok, data = cv2.imencode(self.output.suffix.lower(), self.picture, params)
        if not ok:
            raise OutputError(f"cannot encode {self.output} as a {self.output.suffix} picture")
        write_atomically(self.output, data.tobytes(), PARTIAL_TAG)  # a killed batch's leftover is known
        self.picture = None
