"""A picture's tags: whatever a source's tags hold, the picture is written and keeps what fits."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from vidclear.io.image_sink import JPEG_COMMENT_CHARS, encode_picture, exif_time

BLACK = np.zeros((8, 8, 3), np.uint8)


def test_a_comment_longer_than_a_jpeg_marker_is_cut_not_fatal():
    data = encode_picture(BLACK, ".jpg", {"comment": "€" * 70000})  # 210000 bytes of UTF-8
    with Image.open(io.BytesIO(data)) as jpg:
        assert jpg.info["comment"].decode("utf-8") == "€" * JPEG_COMMENT_CHARS
    with Image.open(io.BytesIO(encode_picture(BLACK, ".jpg", {}))) as jpg:
        assert "comment" not in jpg.info and jpg.getexif()[0x0131].startswith("vidclear ")


def test_png_keeps_every_tag_a_keyword_can_name():
    data = encode_picture(BLACK, ".png", {"comment": "from café.mp4", "location": "+52.1+004.3/", "ключ": "x",
                                          " ": "blank"})
    with Image.open(io.BytesIO(data)) as png:
        assert set(png.text) == {"Comment", "location", "Software"} and png.text["Comment"] == "from café.mp4"


def test_exif_time_from_a_containers_creation_time():
    assert exif_time("2025-03-14T02:30:00.000000Z") == "2025:03:14 02:30:00"
    assert exif_time("2025-03-14") is None and exif_time("") is None
