"""YCbCr 4:2:0 <-> planar RGB for the colour models (the low-light network)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidclear.frame import _KR_KB, chroma_size, rgb_to_yuv, yuv_to_rgb


def reference_yuv_to_rgb(y, u, v, matrix):  # noqa: ANN001, ANN201
    """The textbook formulas in float64 (video range, bilinear chroma upsampling)."""
    kr, kb = _KR_KB[matrix]
    kg = 1 - kr - kb
    h, w = y.shape
    yf = (y.astype(np.float64) - 16) / 219
    cb = (cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float64) - 128) / 224
    cr = (cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float64) - 128) / 224
    r = yf + 2 * (1 - kr) * cr
    b = yf + 2 * (1 - kb) * cb
    g = (yf - kr * r - kb * b) / kg
    return np.clip(np.stack([r, g, b]), 0, 1)


def reference_rgb_to_yuv(rgb, matrix):  # noqa: ANN001, ANN201
    kr, kb = _KR_KB[matrix]
    r, g, b = rgb.astype(np.float64)
    yl = kr * r + (1 - kr - kb) * g + kb * b
    size = chroma_size(yl.shape[1], yl.shape[0])
    cb = cv2.resize((b - yl) / (2 * (1 - kb)), size, interpolation=cv2.INTER_AREA)
    cr = cv2.resize((r - yl) / (2 * (1 - kr)), size, interpolation=cv2.INTER_AREA)
    return [np.clip(np.round(p), 0, 255).astype(np.uint8) for p in (16 + 219 * yl, 128 + 224 * cb, 128 + 224 * cr)]


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
@pytest.mark.parametrize("hw", [(36, 48), (35, 47)])  # even, and odd sizes (chroma is ceil(H/2))
def test_yuv_to_rgb_matches_the_formulas(matrix: str, hw: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    h, w = hw
    ch, cw = (h + 1) // 2, (w + 1) // 2
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u, v = (rng.integers(0, 256, (ch, cw), dtype=np.uint8) for _ in range(2))
    out = yuv_to_rgb(y, u, v, matrix)
    assert out.shape == (3, h, w) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference_yuv_to_rgb(y, u, v, matrix), atol=2e-6)
    into = np.full((2, 3, h, w), -1, np.float32)
    assert yuv_to_rgb(y, u, v, matrix, out=into[1]) is not None
    np.testing.assert_array_equal(into[1], out)
    assert (into[0] == -1).all()


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
@pytest.mark.parametrize("hw", [(36, 48), (35, 47)])
def test_rgb_to_yuv_matches_the_formulas(matrix: str, hw: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0, 1, (3, *hw)).astype(np.float32)
    for ours, ref in zip(rgb_to_yuv(rgb, matrix), reference_rgb_to_yuv(rgb, matrix)):
        assert ours.shape == ref.shape and ours.dtype == np.uint8
        assert np.abs(ours.astype(int) - ref).max() <= 1  # float32 against float64 at a rounding edge
        assert (ours == ref).mean() > 0.99


@pytest.mark.parametrize(
    ("matrix", "yuv", "rgb"),
    [
        ("bt601", (235, 128, 128), (1, 1, 1)),
        ("bt601", (16, 128, 128), (0, 0, 0)),
        ("bt601", (81, 90, 240), (1, 0, 0)),  # the BT.601 colour-bar red
        ("bt709", (63, 102, 240), (1, 0, 0)),  # the BT.709 one
        ("bt709", (173, 42, 26), (0, 1, 0)),
    ],
)
def test_known_colours(matrix: str, yuv: tuple[int, int, int], rgb: tuple[float, float, float]) -> None:
    planes = [np.full(shape, value, np.uint8) for shape, value in zip([(4, 6), (2, 3), (2, 3)], yuv)]
    out = yuv_to_rgb(*planes, matrix)
    np.testing.assert_allclose(out[:, 0, 0], rgb, atol=0.01)
    back = rgb_to_yuv(np.ones((3, 4, 6), np.float32) * np.array(rgb, np.float32)[:, None, None], matrix)
    assert [int(p[0, 0]) for p in back] == pytest.approx(list(yuv), abs=1)


def test_round_trip_of_a_smooth_picture_is_within_two_levels() -> None:
    yy, xx = np.mgrid[0:64, 0:96] / 96.0
    rgb = np.stack([0.1 + 0.8 * xx, 0.2 + 0.6 * yy / 0.66, 0.5 + 0.3 * np.sin(4 * xx)]).astype(np.float32)
    back = yuv_to_rgb(*rgb_to_yuv(rgb, "bt601"), "bt601")
    assert np.abs(back - rgb)[:, 2:-2, 2:-2].max() < 2.5 / 255
