"""The same frames always encode to the same bytes: a batch re-run, a Ray node and a local run give one
output. libx264's AVX-512 code on its own does not (docs/performance.md, "Repeatable encodes")."""

import hashlib
import io
from fractions import Fraction

import av
import numpy as np
import pytest

from media import pattern_frame
from vidclear.config import EncoderConfig
from vidclear.io.sink import add_video_stream

TIME_BASE = Fraction(1, 15360)


def frames(count: int = 40, width: int = 224, height: int = 160) -> list[np.ndarray]:
    """Moving edges with fixed noise: enough detail that the encoder's decisions have room to differ."""
    noise = np.random.default_rng(7).integers(0, 24, (count, height, width, 3), dtype=np.uint8)
    return [pattern_frame(i, width, height) // 2 + noise[i] for i in range(count)]


def encode(rgb: list[np.ndarray], threads: int) -> str:
    """A digest of every packet libx264 gives for ``rgb``, set up as vidclear sets up a file output."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        h, w = rgb[0].shape[:2]
        stream = add_video_stream(container, EncoderConfig(threads=threads), w, h, TIME_BASE, Fraction(30))
        digest = hashlib.sha256()
        for i, picture in enumerate([*rgb, None]):
            frame = None
            if picture is not None:
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
                frame.pts, frame.time_base = i * 512, TIME_BASE
            for packet in stream.encode(frame):
                digest.update(bytes(packet))
                container.mux(packet)
    return digest.hexdigest()


@pytest.mark.parametrize("threads", [1, 0])
def test_the_same_frames_encode_to_the_same_bytes_every_time(threads):
    rgb = frames()
    digests = {encode(rgb, threads) for _ in range(12)}
    assert len(digests) == 1, f"12 encodes of the same 40 frames gave {len(digests)} different streams"
