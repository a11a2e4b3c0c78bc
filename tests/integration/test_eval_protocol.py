"""The evaluation protocol reproduces the published bicubic table before we trust our own numbers."""

import json
import subprocess
import sys

import numpy as np
import pytest

from media import REPO, shared_data
from vidclear.evaluation.matlab_resize import imresize
from vidclear.evaluation.sr import bicubic_upscaler, load_pairs, score_sr

PUBLISHED_BICUBIC = {
    ("set5", 2): 33.66, ("set5", 3): 30.39, ("set5", 4): 28.42,
    ("set14", 2): 30.24, ("set14", 3): 27.55, ("set14", 4): 26.00,
}


@pytest.mark.parametrize("dataset,scale", sorted(PUBLISHED_BICUBIC))
def test_bicubic_matches_the_published_table(dataset, scale):
    pairs = load_pairs(shared_data("sr", dataset), scale)
    score = score_sr(pairs, scale, bicubic_upscaler(scale), with_ssim=False)
    assert score.psnr == pytest.approx(PUBLISHED_BICUBIC[(dataset, scale)], abs=0.05)


def test_matlab_imresize_known_values():
    # MATLAB: imresize([0 1 2 3; 4 5 6 7], 0.5) on doubles -> a 1x2 antialiased result
    x = np.arange(16, dtype=np.float64).reshape(4, 4)
    y = imresize(x, 0.5)
    assert y.shape == (2, 2)
    # a linear ramp stays a linear ramp (symmetric padding, normalised weights)
    np.testing.assert_allclose(np.diff(y, axis=1)[:, 0], 2.0, atol=0.2)
    up = imresize(np.full((5, 7), 100, np.uint8), 3)
    assert up.shape == (15, 21) and np.all(up == 100)


def test_eval_cli_json_fields():
    r = subprocess.run(
        [sys.executable, "-m", "vidclear", "eval", "bicubic-x2", str(shared_data("sr", "set5")), "--json"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)  # stdout is the JSON alone, so `| jq` reads it; the table goes to stderr
    assert "| bicubic-x2 | 33.67 | 0.9301 |" in r.stderr.splitlines()
    for key in ("model", "dataset", "images", "psnr", "ssim", "baseline_psnr", "baseline_ssim"):
        assert key in obj
    assert obj["images"] == 5
    assert obj["baseline_psnr"] == pytest.approx(33.66, abs=0.05)


def _write_png(path, height: int, width: int, seed: int = 0) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8))


@pytest.mark.parametrize("model, make, message", [
    ("espcn-x2", lambda d: (_write_png(d / "ok.png", 64, 64), (d / "bad.png").write_text("not an image")),
     "cannot read image {d}/bad.png (not an image, or damaged)"),
    ("espcn-x4", lambda d: (_write_png(d / "ok.png", 64, 64), _write_png(d / "tiny.png", 24, 40)),
     "image {d}/tiny.png is 40x24: too small for x4 evaluation (each side needs at least 32 pixels)"),
    ("lowlight", lambda d: (_write_png(d / "low" / "a.png", 32, 48), _write_png(d / "high" / "a.png", 48, 32)),
     "{d}/low/a.png is 48x32 but its ground truth {d}/high/a.png is 32x48: a pair must be the same size"),
    ("denoise", lambda d: (d / "a.png").write_text("not an image"),
     "cannot read image {d}/a.png (not an image, or damaged)"),
])
def test_eval_names_a_bad_image_in_one_line(tmp_path, model, make, message):
    # Before, each of these ended in a traceback (ValueError, a conv2d size error, a broadcast error).
    make(tmp_path)
    r = subprocess.run([sys.executable, "-m", "vidclear", "eval", model, str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "vidclear: error: " + message.format(d=tmp_path)



@pytest.mark.parametrize("name, message", [
    ("one.png", "dataset {d}/one.png is a file: name the folder of images it is in"),  # was "not found"
    ("nowhere", "dataset folder not found: {d}/nowhere"),
])
def test_eval_of_a_file_or_a_missing_folder(tmp_path, name, message):
    _write_png(tmp_path / "one.png", 64, 64)
    r = subprocess.run([sys.executable, "-m", "vidclear", "eval", "espcn-x2", str(tmp_path / name)],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "vidclear: error: " + message.format(d=tmp_path)
