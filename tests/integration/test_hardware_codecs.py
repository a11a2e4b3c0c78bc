"""codec: auto takes NVENC when it opens and falls back to libx264 with the cause logged; a hardware
encoder asked for by name that cannot open is one clear error (this machine has no NVIDIA encoder)."""

import subprocess
import sys

import av
import pytest

from media import REPO, make_clip
from vidclear.io import sink


def vidclear(*args):
    return subprocess.run([sys.executable, "-m", "vidclear", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)


@pytest.fixture
def no_nvenc():
    problem = sink.encoder_problem("h264_nvenc")
    if problem is None:
        pytest.skip("h264_nvenc opens on this machine: the fallback cannot be shown here")
    return problem


def test_auto_falls_back_to_libx264_and_says_why(tmp_path, no_nvenc):
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=6)
    out = tmp_path / "out.mp4"
    r = vidclear("enhance", str(clip), str(out), "--model", "bicubic-x2", "--codec", "auto")
    assert r.returncode == 0, r.stderr
    assert f"encoder auto: h264_nvenc cannot open here ({no_nvenc}): encoding with libx264" in r.stderr
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in c.decode(video=0)) == 6


def test_nvenc_by_name_is_a_clear_error_and_leaves_no_file(tmp_path, no_nvenc):
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=2)
    out = tmp_path / "out.mp4"
    r = vidclear("enhance", str(clip), str(out), "--model", "bicubic-x2", "--codec", "h264_nvenc", "--quiet")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] == (f"vidclear: error: encoder h264_nvenc cannot open here ({no_nvenc}); "
                                            "use codec: auto or libx264")
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_the_nvenc_options_map_the_x264_settings():
    assert sink.NVENC_PRESETS["ultrafast"] == "p1" and sink.NVENC_PRESETS["veryslow"] == "p7"
    assert set(sink.NVENC_PRESETS) == {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                                       "slower", "veryslow"}
