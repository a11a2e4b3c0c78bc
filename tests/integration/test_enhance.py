"""`vidclear enhance` end to end on real files: frames, timestamps, audio, errors, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from live_servers import free_port
from media import REPO, make_clip, probe, shared_data
from vidclear.config import load_config
from vidclear.engine.run import run_enhance
from vidclear.evaluation.metrics import rgb_to_y
from vidclear.errors import StageFailed
from vidclear.io.sink import temporary_path


def vidclear(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vidclear", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def av_clip(tmp_path_factory) -> Path:
    """320x240, 60 frames at 30 fps, with AAC audio."""
    return make_clip(tmp_path_factory.mktemp("clips") / "in.mp4", audio=True)


def test_espcn_x2_keeps_every_frame_its_pts_and_the_audio(av_clip, tmp_path):
    out = tmp_path / "out.mp4"
    r = vidclear("enhance", str(av_clip), str(out), "--model", "espcn-x2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""  # --quiet prints only errors
    src, dst = probe(av_clip), probe(out)
    assert (dst.width, dst.height) == (640, 480)
    assert src.frames == dst.frames == 60
    assert max(abs(a - b) for a, b in zip(src.pts_s, dst.pts_s)) < 0.001
    assert dst.audio_end_s is not None and abs(dst.audio_end_s - src.audio_end_s) < 0.05
    assert not temporary_path(out).exists()


def test_a_percent_sign_alone_names_an_ordinary_file(av_clip, tmp_path):
    """Only a strftime directive makes segments. 'clip 100%.mp4' was recorded as a segment: a fragmented MP4
    without its audio."""
    out = tmp_path / "clip 100%.mp4"
    r = vidclear("enhance", str(av_clip), str(out), "--model", "bicubic-x2")
    assert r.returncode == 0, r.stderr
    assert "output: " in r.stdout and "segment" not in r.stdout + r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["clip 100%.mp4"]
    src, dst = probe(av_clip), probe(out)
    assert src.frames == dst.frames == 60
    assert dst.audio_end_s is not None and abs(dst.audio_end_s - src.audio_end_s) < 0.05


def test_variable_frame_rate_keeps_its_pts(tmp_path):
    tb = Fraction(1, 1000)
    pts = [0, 33, 50, 120, 121, 300, 310, 500, 733, 900, 1000, 1450]
    src_path = make_clip(tmp_path / "vfr.mkv", frames=len(pts), pts=pts, time_base=tb)
    out = tmp_path / "vfr_out.mp4"
    r = vidclear("--quiet", "enhance", str(src_path), str(out), "--model", "bicubic-x2")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # --quiet before the command counts too
    src, dst = probe(src_path), probe(out)
    assert dst.frames == src.frames == len(pts)
    assert src.pts_s == pytest.approx([p / 1000 for p in pts])
    assert max(abs(a - b) for a, b in zip(src.pts_s, dst.pts_s)) < 0.001


def test_identity_model_with_lossless_encoding_reproduces_the_input_planes(tmp_path):
    src_path = make_clip(tmp_path / "in.mp4", width=96, height=64, frames=8)
    out = tmp_path / "same.mkv"
    r = vidclear("enhance", str(src_path), str(out), "--model", "identity", "--crf", "0", "--preset", "ultrafast")
    assert r.returncode == 0, r.stderr
    a, b = probe(src_path, keep_planes=True), probe(out, keep_planes=True)
    assert a.frames == b.frames == 8
    for pa, pb in zip(a.planes, b.planes):
        for x, y in zip(pa, pb):
            np.testing.assert_array_equal(x, y)


def test_summary_names_every_stage_and_the_busiest(av_clip, tmp_path):
    r = vidclear("enhance", str(av_clip), str(tmp_path / "o.mp4"), "--model", "bicubic-x2", "--max-frames", "20")
    assert r.returncode == 0, r.stderr
    for stage in ("decode", "preprocess", "infer", "encode"):
        assert f"| {stage}" in r.stdout
    assert "busiest stage:" in r.stdout
    assert "frames 20," in r.stdout
    assert probe(tmp_path / "o.mp4").frames == 20


@pytest.mark.parametrize("ext", [".mkv", ".mov", ".ts"])
def test_other_containers(av_clip, tmp_path, ext):
    out = tmp_path / f"o{ext}"
    r = vidclear("enhance", str(av_clip), str(out), "--model", "bicubic-x2", "--max-frames", "10", "--quiet")
    assert r.returncode == 0, r.stderr
    p = probe(out)
    assert p.frames == 10 and (p.width, p.height) == (640, 480)
    assert p.audio_end_s is not None


def test_libx265(av_clip, tmp_path):
    out = tmp_path / "o.mp4"
    r = vidclear("enhance", str(av_clip), str(out), "--model", "bicubic-x2", "--codec", "libx265",
                 "--max-frames", "5", "--quiet")
    assert r.returncode == 0, r.stderr
    assert probe(out).frames == 5


def test_odd_sizes_and_other_pixel_formats_are_handled(tmp_path):
    src_path = make_clip(tmp_path / "odd.mkv", width=41, height=31, frames=5, codec="ffv1", pix_fmt="yuv422p")
    out2 = tmp_path / "o2.mp4"
    r = vidclear("enhance", str(src_path), str(out2), "--model", "bicubic-x2")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("is converted to yuv420p") == 1  # one log line, not one per frame
    assert (probe(out2).width, probe(out2).height) == (82, 62)
    out1 = tmp_path / "o1.mp4"
    r = vidclear("enhance", str(src_path), str(out1), "--model", "identity")
    assert r.returncode == 0, r.stderr
    assert "is odd" in r.stderr
    assert (probe(out1).width, probe(out1).height, probe(out1).frames) == (40, 30, 5)


@pytest.mark.parametrize("codec, pix_fmt", [("libx264", "yuvj420p"), ("mjpeg", "yuvj420p"), ("png", "rgb24")])
def test_full_range_and_rgb_inputs_keep_their_levels(tmp_path, codec, pix_fmt):
    """Full-range video (IP cameras' H.264 and MJPEG, yuvj420p) and RGB went through the pipeline with their
    full-range values tagged as limited range: blacks crushed and whites clipped, up to 18 levels off."""
    import av

    src = make_clip(tmp_path / "in.mov", 64, 48, frames=3, codec=codec, pix_fmt=pix_fmt,
                    options={"qscale": "2"} if codec == "mjpeg" else None)
    out = tmp_path / "o.mkv"
    r = vidclear("enhance", str(src), str(out), "--model", "identity", "--crf", "0")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("is converted to yuv420p") == 1, r.stderr

    def luma(frame: av.VideoFrame) -> np.ndarray:
        return np.frombuffer(frame.planes[0], np.uint8).reshape(-1, frame.planes[0].line_size)[:48, :64]

    with av.open(str(src)) as c:  # the input's luma in the limited range (16-235) the outputs are tagged with
        expected = np.stack([16 + luma(f).astype(float) * 219 / 255 if pix_fmt == "yuvj420p" else
                             rgb_to_y(f.to_ndarray(format="rgb24").astype(float)) for f in c.decode(video=0)])
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
        stored = np.stack([luma(f) for f in frames]).astype(float)
    assert {f.color_range for f in frames} <= {0, 1} and stored.shape == expected.shape
    assert abs(stored.mean() - expected.mean()) < 0.5 and np.abs(stored - expected).mean() < 1.0, \
        (expected.mean(), stored.mean(), np.abs(stored - expected).max())


@pytest.mark.parametrize("name, first_s", [("in.mp4", 0), ("in.mkv", 10)])
def test_an_excerpt_of_a_file_is_its_frames_and_sound_from_start_for_duration(tmp_path, name, first_s):
    """--start did not exist, and --duration on a file stopped after that much wall time, so the frames kept
    depended on the machine's speed. Seconds count from the file's first timestamp: a recording (MPEG-TS, a
    cut of a longer one) often begins at 10 s or 10000 s."""
    import av

    src = make_clip(tmp_path / name, 64, 48, frames=90, fps=30, audio=True,
                    pts=[first_s * 15360 + i * 512 for i in range(90)])
    out = tmp_path / "cut.mp4"
    r = vidclear("enhance", str(src), str(out), "--model", "identity", "--crf", "0", "--start", "1",
                 "--duration", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    p = probe(out)
    assert p.frames == 30 and p.pts_s[0] == 0 and p.pts_s[-1] == pytest.approx(29 / 30, abs=1e-3)
    if first_s == 0:
        assert 0.9 <= p.audio_end_s <= 1.1, p.audio_end_s  # the sound of that second, moved with the pictures
    else:  # this clip's sound lies at 0-3 s of its timeline, outside the second cut from 11 s
        assert p.audio_end_s is None, p.audio_end_s

    def luma(path: Path, index: int) -> np.ndarray:
        with av.open(str(path)) as c:
            f = next(frame for i, frame in enumerate(c.decode(video=0)) if i == index)
            return np.frombuffer(f.planes[0], np.uint8).reshape(-1, f.planes[0].line_size)[:48, :64]

    assert np.array_equal(luma(out, 0), luma(src, 30)), "the excerpt begins with the frame at 1 s"
    r = vidclear("enhance", str(src), str(tmp_path / "late.mp4"), "--start", "9", "--model", "identity")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        f"vidclear: error: --start 9 is past the end of {src} (3.0 s long)"), r.stderr
    r = vidclear("enhance", f"rtsp://127.0.0.1:{free_port()}/cam", str(tmp_path / "c.ts"), "--start", "5")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        "vidclear: error: --start is for recorded files: a camera is enhanced from now")


@pytest.mark.parametrize("make, tags", [
    # untagged standard definition: what a player shows it as (BT.601, SMPTE 170M at 480 lines and below)
    (lambda d: make_clip(d / "sd.mp4", 64, 48, frames=2), (6, 6, 6, 1)),
    # an RGB picture: swscale's BT.601 matrix, from sRGB (BT.709 primaries, sRGB transfer)
    (lambda d: make_clip(d / "rgb.mov", 64, 48, frames=2, codec="png", pix_fmt="rgb24"), (6, 1, 13, 1)),
])
def test_the_output_says_which_colours_its_frames_are_in(tmp_path, make, tags):
    """Untagged, a 480-line input enlarged to 960 lines was shown with BT.709's matrix: its colours shifted."""
    import av

    out = tmp_path / "o.mkv"
    r = vidclear("enhance", str(make(tmp_path)), str(out), "--model", "bicubic-x2", "--quiet")
    assert r.returncode == 0, r.stderr
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range) == tags


def test_rotation_metadata_is_kept(tmp_path):
    import av

    path = tmp_path / "rot.mp4"
    make_clip(path, frames=3)
    # re-mux with a display matrix
    rotated = tmp_path / "rotated.mp4"
    with av.open(str(path)) as src, av.open(str(rotated), "w") as dst:
        s = dst.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.set_display_rotation(90)
        for f in src.decode(video=0):
            dst.mux(s.encode(f))
        dst.mux(s.encode(None))
    assert probe(rotated).rotation == 90
    out = tmp_path / "o.mp4"
    r = vidclear("enhance", str(rotated), str(out), "--model", "bicubic-x2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert probe(out).rotation == 90
    # a region of a rotated video is in the stored pixels: said, since the user sees the frame turned
    r = vidclear("enhance", str(rotated), str(out), "--model", "bicubic-x2", "--crop", "0,0,64,48")
    assert r.returncode == 0, r.stderr
    assert (f"{rotated} is shown rotated by 90 degrees: its crop 0,0,64,48 is in the stored frame's pixels, "
            "before that rotation") in r.stderr
    p = probe(out)
    assert (p.width, p.height, p.rotation) == (128, 96, 90)


def _assert_one_error_line(r: subprocess.CompletedProcess, *fragments: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("vidclear: error:"), r.stderr
    assert "Traceback" not in r.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_input(tmp_path):
    r = vidclear("enhance", str(tmp_path / "nope.mp4"), str(tmp_path / "o.mp4"), "--quiet")
    _assert_one_error_line(r, "input not found")


def test_a_folder_as_input_points_to_batch(tmp_path):
    (tmp_path / "clips").mkdir()
    r = vidclear("enhance", str(tmp_path / "clips"), str(tmp_path / "o.mp4"), "--quiet")
    _assert_one_error_line(r, f"input is a folder, not a video file: {tmp_path / 'clips'}; to enhance the files in "
                              f"it, use 'vidclear batch {tmp_path / 'clips'} -o OUTDIR'")


def test_text_file_named_mp4(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 20)
    r = vidclear("enhance", str(fake), str(tmp_path / "o.mp4"), "--quiet")
    _assert_one_error_line(r, "cannot open", "as a video")


def test_file_without_a_video_stream(tmp_path):
    import av

    wav = tmp_path / "sound.wav"
    with av.open(str(wav), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        f = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        f.sample_rate = 8000
        c.mux(s.encode(f))
        c.mux(s.encode(None))
    r = vidclear("enhance", str(wav), str(tmp_path / "o.mp4"), "--quiet")
    _assert_one_error_line(r, "has no video stream")


@pytest.mark.parametrize("name", ["o.mp4", "cam_%H%M%S.ts"])
def test_output_in_a_missing_directory(av_clip, tmp_path, name):
    # Without --quiet: the output is checked before a backend is chosen or a model loaded, so the
    # one line is all there is (a file and a segment pattern alike).
    r = vidclear("enhance", str(av_clip), str(tmp_path / "missing" / name), "--model", "espcn-x2")
    _assert_one_error_line(r, "output directory does not exist")


def test_a_long_name_that_fits_is_enhanced_and_one_too_long_is_one_line(av_clip, tmp_path):
    """A 250-byte output name failed with 'File name too long' (its temporary name was 268 bytes); a 304-byte
    one was a traceback from os.stat, for enhance and batch alike."""
    long_in = tmp_path / ("b" * 246 + ".mp4")
    long_in.write_bytes(av_clip.read_bytes())
    out = tmp_path / ("b" * 246 + ".mkv")
    r = vidclear("enhance", str(long_in), str(out), "--model", "bicubic-x2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert probe(out).frames == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([long_in.name, out.name]), "no temporary file left"
    too_long = tmp_path / ("a" * 300 + ".mp4")
    for args in (["enhance", str(av_clip), str(too_long)], ["batch", str(av_clip), "-o", str(too_long)]):
        r = vidclear(*args, "--model", "bicubic-x2", "--quiet")
        _assert_one_error_line(r, f"a name in this path is longer than the file system allows (255 bytes on most): "
                                  f"{too_long}")


def test_output_equal_to_input(av_clip, tmp_path):
    r = vidclear("enhance", str(av_clip), str(av_clip), "--quiet")
    _assert_one_error_line(r, "output path is the input file")


def test_output_that_is_a_folder(av_clip, tmp_path):
    # it used to be told its extension "(none)" is unsupported
    r = vidclear("enhance", str(av_clip), str(av_clip.parent), "--quiet")  # the suggestion is not the input itself
    _assert_one_error_line(r, f"output path is a folder: {av_clip.parent}; name a file in it (such as "
                              f"{av_clip.parent / av_clip.stem}_enhanced.mp4), or use 'vidclear batch'")
    still = tmp_path / "plate.PNG"
    still.write_bytes(cv2.imencode(".png", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    r = vidclear("enhance", str(still), str(tmp_path), "--quiet")
    _assert_one_error_line(r, f"name a file in it (such as {tmp_path / 'plate_enhanced.png'})")
    # a camera's output is checked before the camera is tried (nothing listens on this port)
    r = vidclear("enhance", f"rtsp://127.0.0.1:{free_port()}/cam", str(tmp_path), "--quiet")
    _assert_one_error_line(r, f"output path is a folder: {tmp_path}; name a file or a segment pattern in it")


def test_two_runs_writing_one_output_at_once(tmp_path):
    """Both used to write into one temporary file: the second run truncated the first one's file, and the output
    was whatever the two left. Now the second is refused and the first writes every frame."""
    clip = make_clip(tmp_path / "in.mp4", width=320, height=240, frames=300)
    out = tmp_path / "o.mp4"
    first = subprocess.Popen([sys.executable, "-m", "vidclear", "enhance", str(clip), str(out), "--model", "espcn-x2",
                              "--quiet"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not temporary_path(out).exists():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.01)
    second = vidclear("enhance", str(clip), str(out), "--model", "bicubic-x2", "--quiet")
    assert first.poll() is None, "the first run ended before the second tried: make the clip longer"
    _assert_one_error_line(second, f"another vidclear run is writing {out}; wait for it or choose another output")
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert probe(out).frames == 300 and (probe(out).width, probe(out).height) == (640, 480)  # espcn-x2's, whole
    assert not temporary_path(out).exists()


def test_a_mistyped_stream_scheme(tmp_path):
    # it was "input not found: htp:/viewer:s3cret@127.0.0.1/cam", the password shown
    r = vidclear("enhance", "htp://viewer:s3cret@127.0.0.1/cam", str(tmp_path / "o.mp4"), "--quiet")
    _assert_one_error_line(r, "unsupported stream htp://viewer:***@127.0.0.1/cam: vidclear reads files and rtsp://")
    assert "s3cret" not in r.stderr


def test_unsupported_output_extension(av_clip, tmp_path):
    r = vidclear("enhance", str(av_clip), str(tmp_path / "o.gif"), "--quiet")
    _assert_one_error_line(r, "unsupported output extension '.gif'")


def test_config_with_an_unknown_key(av_clip, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model: bicubic-x2\nencoder:\n  crf: 20\n  turbo: true\n")
    r = vidclear("enhance", str(av_clip), str(tmp_path / "o.mp4"), "--config", str(cfg), "--quiet")
    _assert_one_error_line(r, "unknown key 'encoder.turbo'")


def test_unknown_model_and_backend(av_clip, tmp_path):
    r = vidclear("enhance", str(av_clip), str(tmp_path / "o.mp4"), "--model", "espcn-x9", "--quiet")
    _assert_one_error_line(r, "unknown model 'espcn-x9'", "espcn-x2")
    r = vidclear("enhance", str(av_clip), str(tmp_path / "o.mp4"), "--backend", "magic", "--quiet")
    _assert_one_error_line(r, "unknown backend 'magic'")


def test_debug_adds_the_traceback(tmp_path):
    r = vidclear("enhance", str(tmp_path / "nope.mp4"), str(tmp_path / "o.mp4"), "--debug")
    assert r.returncode == 2
    assert "vidclear: error: input not found" in r.stderr
    assert "Traceback" in r.stderr


def test_truncated_mp4_keeps_the_frames_before_the_damage(tmp_path):
    clip = make_clip(tmp_path / "fs.mp4", frames=60, container_options={"movflags": "faststart"})
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.mp4"
    r = vidclear("enhance", str(cut), str(out), "--model", "bicubic-x2", "--quiet", timeout=60)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("vidclear: error: input is damaged at frame "), line
    kept = int(line.split("at frame ")[1].split(":")[0])
    assert 0 < kept < 60
    assert probe(out).frames == kept


def test_truncated_mp4_without_its_index(tmp_path):
    clip = make_clip(tmp_path / "plain.mp4", frames=30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    r = vidclear("enhance", str(cut), str(tmp_path / "o.mp4"), "--quiet", timeout=60)
    _assert_one_error_line(r, "damaged before frame 0")


def test_failing_infer_stage_stops_the_run_and_leaves_no_file(av_clip, tmp_path, monkeypatch):
    import vidclear.engine.assembly as enhance_mod
    from vidclear.backends.torch_backend import TorchBackend

    class Exploding(TorchBackend):
        calls = 0

        def infer(self, batch):
            Exploding.calls += 1
            if Exploding.calls == 5:
                raise RuntimeError("CUDA error: out of memory (simulated)")
            return super().infer(batch)

    monkeypatch.setattr(enhance_mod, "choose_backend", lambda name, device: (Exploding, "cpu"))
    out = tmp_path / "o.mp4"
    start = time.monotonic()
    with pytest.raises(StageFailed, match=r"stage 'infer' failed: CUDA error: out of memory") as info:
        run_enhance(av_clip, out, load_config(overrides={"model": "bicubic-x2"}))
    assert time.monotonic() - start < 10  # includes model load and four good frames
    assert info.value.stage == "infer"
    assert not out.exists() and not temporary_path(out).exists()
    assert [t.name for t in threading.enumerate() if t.name.startswith("vidclear-")] == []


def test_a_file_on_a_multicore_cpu_gets_two_inferences_at_once(av_clip, tmp_path):
    """device auto resolves to the CPU here; for a file the infer stage then keeps two frames in flight."""
    outcome = run_enhance(av_clip, tmp_path / "o.mp4", load_config(overrides={"model": "bicubic-x2"}))
    cores = len(os.sched_getaffinity(0))
    assert outcome.backend["infer_workers"] == (2 if cores >= 2 else 1)
    assert outcome.backend["threads"] == (cores // 2 if cores >= 2 else 1)
    assert outcome.frames == 60 and probe(tmp_path / "o.mp4").frames == 60
    one = run_enhance(av_clip, tmp_path / "one.mp4",
                      load_config(overrides={"model": "bicubic-x2", "pipeline.infer_workers": 1}))
    assert one.backend["infer_workers"] == 1 and one.backend["threads"] == cores


def test_failing_stage_is_reported_by_the_cli_within_a_second(tmp_path):
    """A stage that raises in a real CLI run: one error line naming it, exit 1, quickly."""
    clip = shared_data("clips", "car_traffic_small_640x360.mp4")
    script = (
        "import sys, time\n"
        "import vidclear.pipeline.stages as st\n"
        "orig = st.InferStage.process_batch\n"
        "def bad(self, frames):\n"
        "    if frames[0].index == 10:\n"
        "        sys.stderr.write(f'RAISED {time.monotonic()}\\n'); raise ValueError('injected failure')\n"
        "    return orig(self, frames)\n"
        "st.InferStage.process_batch = bad\n"
        "from vidclear.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "sys.stderr.write(f'ENDED {time.monotonic()}\\n')\n"
        "raise SystemExit(rc)\n"
    )
    out = tmp_path / "o.mp4"
    r = subprocess.run(
        [sys.executable, "-c", script, "enhance", str(clip), str(out), "--model", "bicubic-x2", "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert r.returncode == 1, r.stderr
    assert "vidclear: error: stage 'infer' failed: injected failure" in r.stderr
    assert "Traceback" not in r.stderr
    raised = float(r.stderr.split("RAISED ")[1].split()[0])
    ended = float(r.stderr.split("ENDED ")[1].split()[0])
    assert ended - raised < 1.0
    assert not out.exists() and not temporary_path(out).exists()


@pytest.mark.slow
def test_sigint_finalises_a_playable_file_and_exits_130(tmp_path):
    clip = shared_data("clips", "car_traffic_small_640x360.mp4")
    out = tmp_path / "long.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidclear", "enhance", str(clip), str(out), "--model", "espcn-x3", "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    partial = temporary_path(out)
    deadline = time.monotonic() + 60
    while not partial.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert partial.exists(), "encoding never started"
    time.sleep(2.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert took < 3.0, f"took {took:.2f} s to stop"
    assert "Traceback" not in err
    p = probe(out)
    assert p.frames >= 1
    assert (p.width, p.height) == (1920, 1080)
    assert not partial.exists()
