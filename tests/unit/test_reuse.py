"""Static-camera reuse: the halo is the model's receptive field (exact with zero thresholds), tile borders
carry no extra error, slow changes never drift, and a pan falls back to whole frames."""

import numpy as np
import pytest

from vidclear.backends.base import BackendOptions
from vidclear.backends.torch_backend import TorchBackend
from vidclear.engine.reuse import TileReuse
from vidclear.engine.service import InferenceService, ServicePolicy
from vidclear.evaluation.metrics import psnr
from vidclear.frame import Frame, luma_to_float
from vidclear.models.registry import get_model
from vidclear.pipeline.stages import InferStage


@pytest.fixture(scope="module")
def espcn_x2():
    spec = get_model("espcn-x2")
    return TorchBackend(spec, "cpu", BackendOptions())


def texture(h, w, seed=0):
    """A static, detailed background (what a fixed camera sees)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 110 + 50 * np.sin(xx / 3.1) * np.cos(yy / 4.7) + rng.normal(0, 6, (h, w))
    return np.clip(base, 16, 235)


def moving_square(h, w, frames, step=3, size=14):
    bg = texture(h, w)
    out = []
    for i in range(frames):
        f = bg.copy()
        y0, x0 = 10 + (i * step) % (h - size - 20), 5 + (i * step * 2) % (w - size - 10)
        f[y0:y0 + size, x0:x0 + size] = 230
        out.append(f.round().astype(np.uint8))
    return out


def enhance(backend, lumas, reuse=None, luma_float=True):
    """Luma frames through the infer stage on the inference service, as a pipeline runs them (with
    ``luma_float`` False the 8-bit luma goes to the backend as it is)."""
    service = InferenceService(None, "cpu", BackendOptions(), ServicePolicy(1))
    stage = InferStage(service.stream("test"), service.add(backend), reuse=reuse)
    try:
        out = []
        for i, y in enumerate(lumas):
            chroma = np.full(((y.shape[0] + 1) // 2, (y.shape[1] + 1) // 2), 128, np.uint8)
            luma_in = luma_to_float(y) if luma_float else None
            out += stage.process_batch([Frame(i, i, None, y, chroma, chroma, luma_in=luma_in)])
        out += list(stage.finish())
        return [f.y for f in out]
    finally:
        stage.close(True)
        service.close()


def reuse_for(spec, **kw):
    return TileReuse(kw.pop("tile", 16), spec.receptive_radius, spec.scale, **kw)


def test_the_halo_is_the_measured_receptive_radius():
    assert get_model("espcn-x2").receptive_radius == 4  # 5x5 then 3x3 then 3x3
    assert get_model("bicubic-x3").receptive_radius == 2  # a 5x5 phase kernel
    assert get_model("identity").receptive_radius == 0
    assert get_model("lowlight").receptive_radius is None  # a brightness head reads the whole frame


def test_with_zero_thresholds_reuse_equals_whole_frames(espcn_x2):
    """Every tile whose input or halo moved at all is recomputed; the rest saw identical input. So the
    output equals whole-frame processing: the halo covers the receptive field, also at the frame's edges
    and in the partial tiles of a size that is no multiple of the tile (90x122)."""
    lumas = moving_square(90, 122, 12)
    full = enhance(espcn_x2, lumas)
    reuse = reuse_for(espcn_x2.spec, threshold=0, mean_threshold=0, refresh_every=0, full_above=1.0)
    tiled = enhance(espcn_x2, lumas, reuse)
    assert reuse.stats.whole_frames == 1 and reuse.stats.share < 0.6  # only the first frame whole
    for a, b in zip(full, tiled):
        assert a.shape == b.shape == (180, 244)
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # float rounding of another conv tiling


def test_tile_borders_carry_no_more_error_than_elsewhere(espcn_x2):
    lumas = moving_square(96, 128, 16)
    full = enhance(espcn_x2, lumas)
    reuse = reuse_for(espcn_x2.spec)
    tiled = enhance(espcn_x2, lumas, reuse)
    s, t = 2, reuse.tile
    border = np.zeros(full[0].shape, bool)
    for k in range(0, 128, t):
        border[:, max(0, (k - 1) * s):(k + 1) * s] = True
    for k in range(0, 96, t):
        border[max(0, (k - 1) * s):(k + 1) * s, :] = True
    errors = np.stack([np.abs(a.astype(float) - b) for a, b in zip(full[1:], tiled[1:])])
    at_borders, elsewhere = errors[:, border].mean(), errors[:, ~border].mean()
    assert at_borders <= elsewhere + 0.05, (at_borders, elsewhere)
    assert min(psnr(a, b) for a, b in zip(full, tiled)) >= 42


def test_a_scene_brightening_slowly_never_keeps_stale_output(espcn_x2):
    """One level brighter every frame: each change is below the pixel threshold, but compared with the
    input each output was made from, the tiles' means give it away."""
    bg = texture(64, 96)
    lumas = [np.clip(bg + i, 0, 255).round().astype(np.uint8) for i in range(40)]
    full = enhance(espcn_x2, lumas)
    tiled = enhance(espcn_x2, lumas, reuse_for(espcn_x2.spec))
    scores = [psnr(a, b) for a, b in zip(full, tiled)]
    assert min(scores) >= 40, scores


def test_a_pan_is_processed_whole_and_costs_only_the_comparison():
    reuse = TileReuse(16, 4, 2)
    bg = texture(120, 400)
    pans = [np.ascontiguousarray(bg[:, i * 5:i * 5 + 160]).round().astype(np.uint8) for i in range(20)]
    plans = [reuse.plan(y) for y in pans]
    assert all(p is None for p in plans)
    assert reuse.stats.whole_frames == 20 and reuse.stats.share == 1.0


def test_the_rolling_refresh_recomputes_every_tile_within_its_period():
    reuse = TileReuse(16, 4, 2, refresh_every=10)
    still = texture(64, 96).round().astype(np.uint8)
    seen = np.zeros((4, 6), int)
    reuse.plan(still)
    reuse.keep(np.zeros((128, 192), np.uint8))
    for _ in range(10):
        tiles = reuse.plan(still)
        assert tiles is not None and len(tiles) <= 3  # spread: 24 tiles over 10 frames
        for ty, tx in tiles:
            seen[ty, tx] += 1
    assert (seen == 1).all()


def test_a_backend_that_takes_8_bit_luma_gives_what_the_float_path_gives(espcn_x2):
    """The torch backend takes uint8 luma and returns uint8 (on a GPU only 8-bit planes cross the bus);
    the result is the float path's, rounded the same way, with or without reuse."""
    from vidclear.frame import float_to_luma

    y = moving_square(48, 64, 1)[0]
    as_float = float_to_luma(espcn_x2.infer(luma_to_float(y)[None, None])[0, 0])
    as_uint8 = espcn_x2.infer(y[None, None])
    assert as_uint8.dtype == np.uint8 and as_uint8.shape == (1, 1, 96, 128)
    assert np.abs(as_uint8[0, 0].astype(int) - as_float).max() <= 1
    lumas = moving_square(90, 122, 6)
    whole = enhance(espcn_x2, lumas, luma_float=False)
    tiled = enhance(espcn_x2, lumas, reuse_for(espcn_x2.spec, threshold=0, mean_threshold=0, refresh_every=0,
                                               full_above=1.0), luma_float=False)
    for a, b, c in zip(whole, tiled, enhance(espcn_x2, lumas)):
        assert a.dtype == np.uint8 and np.abs(a.astype(int) - b).max() <= 1 and np.abs(a.astype(int) - c).max() <= 1
