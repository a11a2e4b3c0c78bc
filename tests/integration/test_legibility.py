"""`vidclear eval legibility`: text rendered, degraded like a camera (real H.264 through PyAV), upscaled, and
read by a real OCR engine (Tesseract 5)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from media import REPO
from vidclear.evaluation.degrade import CameraModel, camera_degrade
from vidclear.evaluation.legibility import BENCHMARK, build_samples, edit_distance


def legibility(*args: str) -> dict:
    """The report, with the progress lines the run printed on stderr under "progress"."""
    r = subprocess.run([sys.executable, "-m", "vidclear", "eval", "legibility", *args, "--json"], cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    return json.loads(r.stdout) | {"progress": r.stderr.splitlines()}


def test_camera_degradation_is_seeded_sized_and_really_coded():
    hrs = [s.hr.astype(np.float64) for s in build_samples(12, 3, seed=5)]
    a = camera_degrade(hrs, 3, np.random.default_rng(1), BENCHMARK)
    b = camera_degrade(hrs, 3, np.random.default_rng(1), BENCHMARK)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)), "the same seed gives the same images"
    assert [x.shape for x in a] == [(h.shape[0] // 3, h.shape[1] // 3) for h in hrs]
    coarse = camera_degrade(hrs, 3, np.random.default_rng(1), CameraModel(0.5, 0.08, 4.0, kbps=60))
    # a starved codec loses detail: the images drift further from the un-coded downscale
    assert np.mean([np.abs(x.astype(float) - y).mean() for x, y in zip(coarse, a)]) > 1.0


def test_help_names_the_benchmark_camera_and_the_defaults():
    r = subprocess.run([sys.executable, "-m", "vidclear", "eval", "--help"], cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    text = " ".join(r.stdout.split())  # argparse wraps the help
    assert r.returncode == 0, r.stderr
    assert f"H.264 at {BENCHMARK.kbps} kb/s" in text, "the --degradation help must say the benchmark's bitrate"
    assert "(default 3)" in text and "(default camera)" in text and "(default 0)" in text


def test_edit_distance():
    assert edit_distance("AB12CDE", "AB12CDE") == 0
    assert edit_distance("AB12CD", "AB12CDE") == 1 and edit_distance("XB12CDF", "AB12CDE") == 2


@pytest.mark.slow
def test_a_small_clean_run_reports_every_method_and_height():
    report = legibility("--scale", "2", "--degradation", "clean", "--strings", "16", "--models", "espcn-x2")
    assert report["scale"] == 2 and report["degradation"] == "clean" and report["strings"] == 16
    assert report["ocr"].startswith("tesseract 5")
    methods = [r["method"] for r in report["results"]]
    assert methods == ["original (ceiling)", "bicubic", "espcn-x2"]
    for r in report["results"]:
        assert 0 <= r["char_acc"] <= 100 and 0 <= r["string_acc"] <= r["char_acc"] + 1e-9
        assert sum(b["strings"] for b in r["by_height"].values()) == 16
    ceiling = report["results"][0]
    assert ceiling["char_acc"] >= 80, "the originals are readable: the OCR engine works"
    said = [line for line in report["progress"] if "legibility: " in line]
    assert len(said) == 4 and "16 strings rendered and given the clean degradation at x2" in said[0], said
    assert said[3].startswith(f"vidclear: legibility: 3/3 espcn-x2 read {report['results'][2]['char_acc']:.2f} %")


@pytest.mark.slow
def test_srgan_x4_reads_at_least_as_many_characters_as_espcn_x4_on_camera_input():
    """Issue 27's bar, on the full benchmark (240 strings, seed 0)."""
    report = legibility("--scale", "4", "--degradation", "camera", "--models", "espcn-x4,srgan-x4")
    acc = {r["method"]: r["char_acc"] for r in report["results"]}
    assert acc["srgan-x4"] >= acc["espcn-x4"] > acc["bicubic"], acc


@pytest.mark.parametrize("args, says", [
    (["legibility", "some/folder"], "eval legibility renders its own strings and takes no dataset (got some/folder)"),
    (["legibility", "--strings", "5"], "--strings 5: give at least 8, one per text height"),
    (["espcn-x3", "some/folder", "--degradation", "camera", "--strings", "80"],
     "--degradation, --strings: only for 'eval legibility'"),
])
def test_options_that_do_not_apply_are_refused_in_one_line(args, says):
    """Before, a dataset given to the benchmark and --degradation given to a model's eval were silently ignored,
    and --strings 0 printed a table of nan."""
    r = subprocess.run([sys.executable, "-m", "vidclear", "eval", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidclear: error: ") and says in lines[0], r.stderr
