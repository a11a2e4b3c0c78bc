"""A region of the input enhanced alone (--crop, crop:, a camera's crop:)."""

from __future__ import annotations

import cv2
import numpy as np

from live_process import run, write_config
from media import lumas, make_clip, probe
from vidclear.evaluation.metrics import psnr
from vidclear.io.crop import Region


def test_the_source_gives_exactly_the_region(tmp_path):
    clip = make_clip(tmp_path / "cam.mp4", width=160, height=120, frames=6)
    whole, region = lumas(clip), lumas(clip, crop=Region(40, 30, 64, 48))
    assert len(region) == 6
    assert all(np.array_equal(w[30:78, 40:104], r) for w, r in zip(whole, region))


def test_enhancing_a_region_enlarges_that_region_and_keeps_every_frame(tmp_path):
    clip = make_clip(tmp_path / "cam.mp4", width=160, height=120, frames=12, fps=10)
    out = tmp_path / "plate.mp4"
    r = run("enhance", str(clip), str(out), "--model", "bicubic-x2", "--crop", "41,30,64,49")
    assert r.returncode == 0, r.stderr
    assert "crop 41,30,64,49 made even for 4:2:0 chroma: 40,30,64,48" in r.stderr
    p = probe(out, keep_planes=True)
    assert (p.width, p.height, p.frames) == (128, 96, 12) and p.pts_s == probe(clip).pts_s
    for got, frame in zip(p.planes, lumas(clip)):  # the region, not another part of the moving pattern
        wanted = cv2.resize(frame[30:78, 40:104], (128, 96), interpolation=cv2.INTER_CUBIC)
        assert psnr(got[0][4:-4, 4:-4], wanted[4:-4, 4:-4]) > 30


def test_a_region_past_the_frame_is_one_line_and_exit_2(tmp_path):
    clip = make_clip(tmp_path / "cam.mp4", width=160, height=120, frames=3)
    r = run("enhance", str(clip), str(tmp_path / "o.mp4"), "--crop", "100,0,80,40")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        f"vidclear: error: crop 100,0,80,40 (x, y, width, height) reaches past the 160x120 frame of {clip}: "
        "it must end by x 160 and y 120")
    r = run("enhance", str(clip), str(tmp_path / "o.mp4"), "--crop", "0,0,0,40")
    assert r.returncode == 2 and "argument --crop: should be X,Y,WIDTH,HEIGHT in pixels" in r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_serve_takes_a_region_per_camera_and_refuses_one_for_all(tmp_path):
    cfg = write_config(tmp_path / "cams.yaml", "crop: 0,0,64,48\ncameras:\n"
                       "  - {name: gate, url: 'rtsp://127.0.0.1:9/cam', outputs: [gate.ts]}\n")
    r = run("serve", str(cfg), "--check")
    assert r.returncode == 2 and r.stderr.strip() == (
        f"vidclear: error: config {cfg}: crop is a camera's own: give it under the camera whose region it is "
        "(cameras: [{name: ..., crop: ...}])")
    cfg.write_text("cameras:\n  - {name: gate, url: 'rtsp://127.0.0.1:9/cam', outputs: [gate.ts], crop: [0, 0, 64]}\n")
    r = run("serve", str(cfg), "--check")
    assert r.returncode == 2 and "bad value for 'cameras.0.crop': should be X,Y,WIDTH,HEIGHT" in r.stderr
