"""The low-light model in the pipeline: alone, and chained before x2 with night mode."""

import json
import subprocess
import sys

import av
import numpy as np

from media import REPO, make_clip, pattern_frame, probe, shared_data


def vidclear(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "vidclear", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def dark_then_bright_clip(path, frames=12, dark=6):
    """Frames 0..dark-1 are night (mean luma ~ 20), the rest day."""
    out = av.open(str(path), "w")
    s = out.add_stream("libx264", rate=10)
    s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
    s.options = {"preset": "ultrafast", "crf": "10"}
    for i in range(frames):
        rgb = pattern_frame(i, 96, 64).astype(np.float32)
        rgb = rgb * (0.08 if i < dark else 1.0)
        f = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
        f.pts = i
        out.mux(s.encode(f))
    out.mux(s.encode(None))
    out.close()
    return path


def test_lowlight_model_brightens_a_dark_clip(tmp_path):
    clip = dark_then_bright_clip(tmp_path / "dark.mp4", frames=4, dark=4)
    out = tmp_path / "bright.mp4"
    r = vidclear("enhance", str(clip), str(out), "--model", "lowlight", "--quiet")
    assert r.returncode == 0, r.stderr
    src, dst = probe(clip, keep_planes=True), probe(out, keep_planes=True)
    assert dst.frames == src.frames == 4 and (dst.width, dst.height) == (96, 64)
    assert np.mean(dst.planes[0][0]) > np.mean(src.planes[0][0]) + 40


def test_night_chain_switches_with_the_scene(tmp_path):
    clip = dark_then_bright_clip(tmp_path / "dusk.mp4")
    out = tmp_path / "o.mp4"
    r = vidclear("enhance", str(clip), str(out), "--config", str(REPO / "configs" / "night-x2.yaml"))
    assert r.returncode == 0, r.stderr
    assert "night mode on at frame 0" in r.stderr
    assert "night mode off at frame 6" in r.stderr
    assert "| lowlight" in r.stdout
    p = probe(out)
    assert (p.width, p.height, p.frames) == (192, 128, 12)


def test_lowlight_eval_json_has_both_variants():
    r = vidclear("eval", "lowlight", str(shared_data("lowlight", "synthetic_set14")), "--json")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    for key in ("model", "dataset", "images", "psnr", "ssim", "baseline_psnr", "baseline_ssim", "psnr_gtmean"):
        assert key in obj
    assert obj["images"] == 14
    assert obj["baseline_psnr"] < 10  # the dark input itself
    assert obj["psnr"] > obj["baseline_psnr"] + 8


def test_classical_steps_run_in_the_pipeline(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=3)
    out = tmp_path / "o.mp4"
    r = vidclear("enhance", str(clip), str(out), "--config", str(REPO / "configs" / "clear-blur.yaml"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert probe(out).frames == 3


def test_the_denoiser_runs_in_the_night_chain_and_changes_only_night_frames(tmp_path):
    clip = dark_then_bright_clip(tmp_path / "dusk.mp4")
    plain, denoised = tmp_path / "plain.mp4", tmp_path / "denoised.mp4"
    night = str(REPO / "configs" / "night-x2.yaml")
    # lossless output (--crf 0): a day frame coded against a changed night frame would differ a little
    r = vidclear("enhance", str(clip), str(plain), "--config", night, "--crf", "0")
    assert r.returncode == 0, r.stderr
    r = vidclear("enhance", str(clip), str(denoised), "--config", night, "--crf", "0", "--denoise", "denoise")
    assert r.returncode == 0, r.stderr
    assert "loaded model 'denoise'" in r.stderr and "night mode off at frame 6" in r.stderr
    a, b = probe(plain, keep_planes=True), probe(denoised, keep_planes=True)
    assert (b.width, b.height, b.frames) == (192, 128, 12) and b.pts_s == a.pts_s
    night_diff = [np.abs(a.planes[i][0].astype(int) - b.planes[i][0]).mean() for i in range(6)]
    day_diff = [np.abs(a.planes[i][0].astype(int) - b.planes[i][0]).mean() for i in range(7, 12)]
    assert min(night_diff) > 0.05, night_diff  # the denoiser changed every night frame
    assert max(day_diff) == 0, day_diff  # and no day frame


def test_a_denoiser_that_is_not_one_is_a_config_error(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=2)
    r = vidclear("enhance", str(clip), str(tmp_path / "o.mp4"), "--night", "on", "--denoise", "espcn-x2")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "vidclear: error: lowlight.denoise 'espcn-x2' is not a colour model of scale 1")


def test_the_denoiser_alone_keeps_size_frames_and_timestamps(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", width=70, height=46, frames=5)
    out = tmp_path / "o.mp4"
    r = vidclear("enhance", str(clip), str(out), "--model", "denoise", "--quiet")
    assert r.returncode == 0, r.stderr
    src, dst = probe(clip), probe(out)
    assert (dst.width, dst.height, dst.frames) == (70, 46, 5) and dst.pts_s == src.pts_s
