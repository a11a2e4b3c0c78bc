"""Interlaced input (analogue cameras behind DVRs): deinterlaced frame for frame before the model."""

from __future__ import annotations

import json

import numpy as np

from live_process import run
from media import combing, lumas, make_interlaced_clip, probe


def test_an_interlaced_file_is_deinterlaced_frame_for_frame(tmp_path):
    clip = make_interlaced_clip(tmp_path / "dvr.mp4", frames=20)
    results = {}
    for mode in ("auto", "off"):
        out, summary = tmp_path / f"{mode}.mp4", tmp_path / f"{mode}.json"
        r = run("enhance", str(clip), str(out), "--model", "bicubic-x2", "--deinterlace", mode,
                "--summary-json", str(summary))
        assert r.returncode == 0, r.stderr
        p = probe(out, keep_planes=True)
        results[mode] = (r, json.loads(summary.read_text()), p, np.mean([combing(y) for y, _, _ in p.planes]))
    r, s, p, comb_auto = results["auto"]
    assert p.frames == 20 and s["deinterlaced"] == 20
    assert p.pts_s == probe(clip).pts_s  # one frame out per frame in, at the input's times
    assert "interlaced input: 20 frames deinterlaced (bwdif)" in r.stdout
    assert "deinterlacing with bwdif" in r.stderr
    r_off, s_off, p_off, comb_off = results["off"]
    assert p_off.frames == 20 and s_off["deinterlaced"] == 0 and "interlaced input" not in r_off.stdout
    assert "is interlaced, and deinterlace is off" in r_off.stderr
    assert comb_auto < 0.1 * comb_off, (comb_auto, comb_off)  # the enlarged comb is gone


def test_auto_leaves_progressive_frames_untouched_and_on_deinterlaces_them(tmp_path):
    # interlaced content coded as progressive, as some DVRs send it: nothing flags it
    clip = make_interlaced_clip(tmp_path / "unflagged.mp4", frames=12, coded_interlaced=False)
    off, auto, on = (lumas(clip, deinterlace=mode) for mode in ("off", "auto", "on"))
    assert len(off) == len(auto) == len(on) == 12
    assert all(np.array_equal(a, b) for a, b in zip(off, auto))
    assert np.mean([combing(y) for y in on]) < 0.1 * np.mean([combing(y) for y in off])


def test_an_excerpt_of_an_interlaced_file_keeps_its_last_frame(tmp_path):
    # the filter holds one frame back: the cut's end must still give it out
    clip = make_interlaced_clip(tmp_path / "dvr.mp4", frames=25)  # 25 fps
    out = tmp_path / "cut.mp4"
    r = run("enhance", str(clip), str(out), "--model", "bicubic-x2", "--start", "0.2", "--duration", "0.4")
    assert r.returncode == 0, r.stderr
    p = probe(out, keep_planes=True)
    assert p.frames == 10 and p.pts_s[0] == 0.0
    assert max(combing(y) for y, _, _ in p.planes) < 1.0


def test_fields_gives_every_field_as_a_frame_of_its_own_at_its_own_moment(tmp_path):
    clip = make_interlaced_clip(tmp_path / "dvr.mp4", frames=20, fps=25)
    out, summary = tmp_path / "fields.mp4", tmp_path / "s.json"
    r = run("enhance", str(clip), str(out), "--model", "bicubic-x2", "--deinterlace", "fields",
            "--summary-json", str(summary))
    assert r.returncode == 0, r.stderr
    p = probe(out, keep_planes=True)
    assert p.frames == 40 and json.loads(summary.read_text())["deinterlaced"] == 40
    assert np.allclose(np.diff(p.pts_s), 0.02), p.pts_s  # 50 a second, from 25 frames a second
    # the bar moves 3 pixels a field, 6 once enlarged: each frame shows its own field's moment
    edges = [int(np.argmax(y[96] > 130)) for y, _, _ in p.planes]
    assert np.all(np.abs(np.diff(edges) - 6) <= 1), edges
    assert max(combing(y) for y, _, _ in p.planes) < 1.0
    assert "interlaced input: 40 frames deinterlaced (bwdif)" in r.stdout
    assert "a frame per field, twice the frame rate" in r.stderr
