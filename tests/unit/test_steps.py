import cv2
import numpy as np
import pytest

from media import shared_data
from vidclear.config import load_config
from vidclear.evaluation.metrics import psnr
from vidclear.evaluation.sr import list_images
from vidclear.pipeline.night import NightSwitch
from vidclear.steps import build_steps
from vidclear.steps.registry import ClaheConfig, DenoiseConfig, SharpenConfig
from vidclear.steps.wiener import WienerDeconvolver, gaussian_psf


def test_wiener_gains_at_least_2_db_on_blurred_noisy_set14():
    psf = gaussian_psf(1.5)
    deconv = WienerDeconvolver(psf, nsr=0.01)
    rng = np.random.default_rng(0)
    blurred_db, restored_db = [], []
    for path in list_images(shared_data("sr", "set14")):
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float64)
        blurred = cv2.filter2D(img, -1, psf, borderType=cv2.BORDER_REFLECT) + rng.normal(0, 2.0, img.shape)
        blurred = np.clip(np.round(blurred), 0, 255)
        restored = np.clip(np.round(deconv(blurred)), 0, 255)
        blurred_db.append(psnr(blurred, img))
        restored_db.append(psnr(restored, img))
    gain = np.mean(restored_db) - np.mean(blurred_db)
    assert gain >= 2.0, f"Wiener gained only {gain:.2f} dB"


def test_wiener_psf_is_centred():
    # deconvolving an unblurred image with a delta PSF is the identity (no shift)
    img = np.random.default_rng(1).uniform(0, 255, (37, 53))
    out = WienerDeconvolver(np.array([[1.0]]), nsr=1e-9)(img)
    np.testing.assert_allclose(out, img, atol=1e-6)


def test_steps_keep_shape_and_dtype_and_change_the_image():
    rng = np.random.default_rng(2)
    y = np.clip(rng.normal(100, 30, (48, 64)), 0, 255).astype(np.uint8)
    y = cv2.GaussianBlur(y, (0, 0), 2)
    for cfg in (ClaheConfig(name="clahe"), SharpenConfig(name="sharpen", amount=1.0),
                DenoiseConfig(name="denoise", method="bilateral"), DenoiseConfig(name="denoise", method="nlmeans")):
        [(name, step)] = build_steps([cfg])
        out = step(y)
        assert out.shape == y.shape and out.dtype == np.uint8, name
        assert not np.array_equal(out, y), name


def test_steps_come_from_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("steps:\n  - {name: wiener, sigma: 2}\n  - {name: clahe}\n")
    cfg = load_config(p)
    assert [name for name, _ in build_steps(cfg.steps)] == ["wiener", "clahe"]


def test_night_switch_has_hysteresis_and_counts_switches():
    sw = NightSwitch("auto", dark_below=40, bright_above=60)
    levels = [100, 50, 35, 45, 55, 59, 61, 50, 39, 41]
    states = [sw.update(np.full((8, 8), lvl, np.uint8), i) for i, lvl in enumerate(levels)]
    assert states == [False, False, True, True, True, True, False, False, True, True]
    assert sw.switches == 3
    assert NightSwitch("on", 40, 60).update(np.full((8, 8), 200, np.uint8), 0) is True


def test_lowlight_hysteresis_must_be_ordered(tmp_path):
    from vidclear.errors import ConfigError

    p = tmp_path / "c.yaml"
    p.write_text("lowlight: {mode: auto, dark_below: 60, bright_above: 50}\n")
    with pytest.raises(ConfigError, match="lowlight"):
        load_config(p)
