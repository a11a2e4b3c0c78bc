"""`vidclear eval denoise DIR`: seeded camera noise (sensor noise, then real H.264), the model against OpenCV's
non-local means and bilateral filter, with the CPU time of each."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from media import REPO, pattern_frame, shared_data
from vidclear.evaluation.noise import EVAL_NOISE, NoiseModel, add_camera_noise

KEYS = ("psnr", "ssim", "baseline_nlm_psnr", "baseline_bilateral_psnr", "ms_per_mp", "baseline_nlm_ms_per_mp",
        "baseline_bilateral_ms_per_mp", "psnr_with_previous", "noisy_psnr")


def eval_denoise(folder, *extra: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "vidclear", "eval", "denoise", str(folder), "--json", *extra],
                       cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    return json.loads(r.stdout)


def test_camera_noise_is_seeded_and_really_coded():
    img = pattern_frame(3, 64, 48)
    a = add_camera_noise(img, np.random.default_rng(4), EVAL_NOISE)
    b = add_camera_noise(img, np.random.default_rng(4), EVAL_NOISE)
    assert a.shape == img.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    raw = add_camera_noise(img, np.random.default_rng(4), NoiseModel(EVAL_NOISE.gain, EVAL_NOISE.read_noise, None))
    assert not np.array_equal(a, raw), "the codec changed the noisy frame"
    odd = add_camera_noise(pattern_frame(1, 33, 21), np.random.default_rng(0), EVAL_NOISE)
    assert odd.shape == (21, 33, 3)


def test_a_small_folder_reports_every_field_and_the_same_numbers_twice(tmp_path):
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"p{i}.png"), pattern_frame(i, 96, 64)[..., ::-1])
    first, second = eval_denoise(tmp_path), eval_denoise(tmp_path)
    assert all(k in first for k in KEYS) and first["images"] == 2
    for key in ("psnr", "baseline_nlm_psnr", "baseline_bilateral_psnr", "noisy_psnr"):
        assert first[key] == second[key], key  # seeded
    assert eval_denoise(tmp_path, "--seed", "1")["noisy_psnr"] != first["noisy_psnr"]


def test_an_empty_folder_is_one_line_and_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vidclear", "eval", "denoise", str(tmp_path)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == f"vidclear: error: no images in {tmp_path}"


@pytest.mark.slow
def test_on_set14_the_denoiser_beats_non_local_means_by_1_db_in_at_most_twice_its_time():
    report = eval_denoise(shared_data("sr", "set14"))
    assert report["images"] == 14
    assert report["psnr"] >= report["baseline_nlm_psnr"] + 1.0, report
    assert report["ms_per_mp"] <= 2 * report["baseline_nlm_ms_per_mp"], report
    assert report["psnr"] > report["baseline_bilateral_psnr"] and report["psnr"] > report["noisy_psnr"] + 1.0
