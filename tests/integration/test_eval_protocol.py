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
    obj = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("model", "dataset", "images", "psnr", "ssim", "baseline_psnr", "baseline_ssim"):
        assert key in obj
    assert obj["images"] == 5
    assert obj["baseline_psnr"] == pytest.approx(33.66, abs=0.05)
