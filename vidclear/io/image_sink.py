"""A still picture as the output (``.png``, ``.jpg``): one enhanced frame to read, zoom into and print.

A snapshot from a camera or a still from an incident is read as a picture, not as a
one-frame video: ``vidclear enhance plate.png plate_x3.png``, or
``vidclear enhance rtsp://cam/stream snap.png --max-frames 1``. PNG keeps every
pixel; JPEG is written at quality 95. The picture appears whole or not at all
(a temporary file renamed into place), like every other output. It says how it was
made, as a video does: PNG text chunks, or JPEG's comment and EXIF (``encode_picture``).
"""

from __future__ import annotations

import io
import time
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
from av.video.reformatter import ColorRange, Colorspace
import numpy as np
from PIL import Image, PngImagePlugin

from .. import __version__
from ..errors import OutputError
from ..export.files import write_atomically
from .names import PARTIAL_TAG
from .source import Colour
from .tags import RecordingTags

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
# the input's YUV matrix (AVColorSpace) as swscale names it, to turn the frame into RGB as a player would
SWS_MATRIX = {1: Colorspace.ITU709, 5: Colorspace.ITU601, 6: Colorspace.ITU601, 9: Colorspace.BT2020,
              10: Colorspace.BT2020}
JPEG_QUALITY = 95
JPEG_COMMENT_CHARS = 16000  # a JPEG marker holds 65533 bytes: the comment's UTF-8 (and EXIF's copy) fit in one
PNG_COMPRESSION = 1  # zlib's fastest: a 4K frame in a fraction of a second, as OpenCV writes PNG by default
# PNG's registered keywords for the container tags that have one; other tags keep their own names
PNG_KEYWORDS = {"comment": "Comment", "title": "Title", "creation_time": "Creation Time",
                "description": "Description", "copyright": "Copyright"}
EXIF_DESCRIPTION, EXIF_SOFTWARE, EXIF_IFD, EXIF_TAKEN = 0x010E, 0x0131, 0x8769, 0x9003
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


def exif_time(creation_time: str) -> Optional[str]:
    """``2025-03-14T02:30:00.000000Z`` as EXIF writes a time (``2025:03:14 02:30:00``); None if it is not one."""
    date, _, clock = creation_time.partition("T")
    if len(date) != 10 or len(clock) < 8:
        return None
    return f"{date.replace('-', ':')} {clock[:8]}"


def encode_picture(rgb: np.ndarray, suffix: str, tags: dict[str, str]) -> bytes:
    """The picture file's bytes, tags included: PNG text chunks (UTF-8), or for JPEG the comment marker (UTF-8)
    and EXIF's description, software and time taken (what photo viewers and forensic tools show)."""
    image, out = Image.fromarray(rgb), io.BytesIO()
    if suffix == ".png":
        info = PngImagePlugin.PngInfo()
        for key, value in tags.items():
            if key.isascii() and key.strip():  # a PNG keyword is Latin-1, 1 to 79 characters
                info.add_itxt(PNG_KEYWORDS.get(key.lower(), key)[:79], value)
        info.add_text("Software", f"vidclear {__version__}")
        image.save(out, "PNG", pnginfo=info, compress_level=PNG_COMPRESSION)
        return out.getvalue()
    exif = Image.Exif()
    exif[EXIF_SOFTWARE] = f"vidclear {__version__}"
    comment = (tags.get("comment") or "")[:JPEG_COMMENT_CHARS]
    if comment:
        exif[EXIF_DESCRIPTION] = comment  # ASCII by the standard: other characters become '?'; the marker keeps them
    taken = exif_time(tags.get("creation_time", ""))
    if taken:
        exif.get_ifd(EXIF_IFD)[EXIF_TAKEN] = taken
    image.save(out, "JPEG", quality=JPEG_QUALITY, exif=exif, comment=comment.encode("utf-8"))
    return out.getvalue()


class ImageSink:
    """Keeps the one frame it is given and writes it as a picture when the run completes."""

    def __init__(self, output: str | Path, tags: Optional[RecordingTags] = None) -> None:
        self.output = Path(output)
        self.tags = tags or RecordingTags()
        self.written_at = 0.0  # the wall time the frame arrived: a camera snapshot's moment
        self.frames_written = 0
        self.last_write: Optional[float] = None
        self.size: Optional[tuple[int, int]] = None
        self.rotation = 0
        self.picture: Optional[np.ndarray] = None  # RGB
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
        picture = frame.reformat(format="rgb24", src_colorspace=self.matrix, src_color_range=ColorRange.MPEG,
                                 dst_color_range=ColorRange.JPEG).to_ndarray()
        self.picture = np.ascontiguousarray(np.rot90(picture, (self.rotation // 90) % 4))
        self.frames_written = 1
        self.last_write = time.monotonic()
        self.written_at = time.time()

    def close(self, completed: bool) -> None:
        if not completed or self.picture is None:
            return
        try:
            data = encode_picture(self.picture, self.output.suffix.lower(), self.tags.for_file(self.written_at))
        except (OSError, ValueError) as e:
            raise OutputError(f"cannot encode {self.output} as a {self.output.suffix} picture: {e}") from None
        write_atomically(self.output, data, PARTIAL_TAG)  # a killed batch's leftover is known
        self.picture = None
