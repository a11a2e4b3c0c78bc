import av
import numpy as np
import pytest

from vidclear.frame import (
    chroma_size,
    float_to_luma,
    luma_to_float,
    merge_planes,
    split_planes,
    upscale_chroma,
)
from vidclear.models.registry import get_model
from vidclear.backends.torch_backend import TorchBackend

from media import pattern_frame


@pytest.mark.parametrize("w,h", [(64, 48), (65, 49), (33, 17)])
def test_split_is_a_view_and_merge_restores_the_frame(w, h):
    src = av.VideoFrame.from_ndarray(pattern_frame(3, w, h), format="rgb24").reformat(format="yuv420p")
    y, u, v = split_planes(src)
    assert y.shape == (h, w) and u.shape == (chroma_size(w, h)[1], chroma_size(w, h)[0])
    assert np.shares_memory(y, np.frombuffer(src.planes[0], np.uint8)), "luma must not be copied"
    out = merge_planes(y, u, v)
    for a, b in zip(split_planes(out), (y, u, v)):
        np.testing.assert_array_equal(a, b)


def test_float_round_trip_is_exact_for_every_level():
    y = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(float_to_luma(luma_to_float(y)), y)


def test_float_to_luma_saturates_and_rounds():
    x = np.array([[-0.5, 0.0, 0.6 / 255, 1.0, 1.7]], np.float32)
    np.testing.assert_array_equal(float_to_luma(x), [[0, 0, 1, 255, 255]])


def test_identity_model_through_the_backend_reproduces_the_planes():
    backend = TorchBackend(get_model("identity"), "cpu")
    src = av.VideoFrame.from_ndarray(pattern_frame(5, 41, 23), format="rgb24").reformat(format="yuv420p")
    y, u, v = split_planes(src)
    out_y = float_to_luma(backend.infer(luma_to_float(y)[None, None])[0, 0])
    np.testing.assert_array_equal(out_y, y)
    np.testing.assert_array_equal(upscale_chroma(u, 41, 23), u)


@pytest.mark.parametrize("w,h,s", [(40, 30, 2), (41, 23, 3)])
def test_chroma_upscale_matches_the_output_luma(w, h, s):
    u = np.full(((h + 1) // 2, (w + 1) // 2), 77, np.uint8)
    up = upscale_chroma(u, w * s, h * s)
    assert up.shape == ((h * s + 1) // 2, (w * s + 1) // 2)
    assert np.all(up == 77)
