"""`vidclear enhance` with a picture as the output (.png, .jpg): a still, or one frame of a video or camera."""

from __future__ import annotations

import subprocess
import sys

import av
import cv2
import numpy as np

from fuzz_enhance import rotate
from media import REPO, make_clip
from vidclear.evaluation.metrics import psnr, rgb_to_y


def vidclear(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidclear", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)


def plate(width: int = 192, height: int = 144) -> np.ndarray:
    """Dark text on a light plate (BGR), the kind of still one enhances to read."""
    img = np.full((height, width, 3), 200, np.uint8)
    for row, text in enumerate(("AB12 CDE", "XY98 ZWK", "LM45 PQR")):
        cv2.putText(img, text, (8, 36 + 44 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (30, 30, 30), 2, cv2.LINE_AA)
    return img


def test_a_still_picture_in_and_out_is_sharper_than_bicubic(tmp_path):
    hr = plate()
    lr = cv2.resize(hr, (96, 72), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "lr.png"), lr)
    r = vidclear("enhance", str(tmp_path / "lr.png"), str(tmp_path / "sr.png"), "--model", "espcn-x2", "--quiet")
    assert r.returncode == 0, r.stderr
    sr = cv2.imread(str(tmp_path / "sr.png"))
    assert sr.shape == hr.shape
    bicubic = cv2.resize(lr, (192, 144), interpolation=cv2.INTER_CUBIC)
    y = lambda bgr: rgb_to_y(bgr[:, :, ::-1])  # noqa: E731
    ours, theirs = psnr(y(sr), y(hr)), psnr(y(bicubic), y(hr))
    assert ours > theirs + 0.5, (ours, theirs)
    r = vidclear("enhance", str(tmp_path / "lr.png"), str(tmp_path / "sr.jpg"), "--model", "espcn-x2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert cv2.imread(str(tmp_path / "sr.jpg")).shape == hr.shape
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file is left"


def test_a_picture_of_a_video_takes_its_first_frame_only_when_asked(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", 64, 48, frames=6)
    r = vidclear("enhance", str(clip), str(tmp_path / "f.png"), "--model", "bicubic-x2")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        f"vidclear: error: {tmp_path / 'f.png'} is a picture, and the input has 6 frames: give --max-frames 1 for "
        "the first, or name a video (.mp4 .mkv .mov .ts) for all of them"), r.stderr
    assert not (tmp_path / "f.png").exists() and "loaded model" not in r.stderr, "refused before any work"
    r = vidclear("enhance", str(clip), str(tmp_path / "f.png"), "--model", "bicubic-x2", "--start", "0.05")
    assert r.returncode == 2 and "is a picture, and the input has" in r.stderr and "loaded model" not in r.stderr, \
        "an excerpt of several frames is refused before any work too (it failed at its second frame)"
    for out in ("f.png", "f.mkv"):  # the picture is the first frame of the video the same run makes (lossless)
        r = vidclear("enhance", str(clip), str(tmp_path / out), "--model", "bicubic-x2", "--max-frames", "1",
                     "--crf", "0", "--quiet")
        assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "f.mkv")) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    picture = cv2.imread(str(tmp_path / "f.png"))
    assert len(frames) == 1 and picture.shape == (96, 128, 3)
    assert np.abs(picture.astype(int) - frames[0]).max() <= 1


def test_a_rotated_video_gives_an_upright_picture(tmp_path):
    """The display rotation is turned into the pixels as FFmpeg's players show it: counter-clockwise by the
    matrix's angle (docs/reliability.md)."""
    src = tmp_path / "q.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        img = np.zeros((48, 64, 3), np.uint8)
        img[:24, :32] = 255  # the top-left quarter white
        for i in range(2):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    rotated = rotate(src, tmp_path / "q90.mp4", 90)
    r = vidclear("enhance", str(rotated), str(tmp_path / "up.png"), "--model", "bicubic-x2", "--max-frames", "1",
                 "--quiet")
    assert r.returncode == 0, r.stderr
    up = cv2.imread(str(tmp_path / "up.png"), cv2.IMREAD_GRAYSCALE).astype(float)
    assert up.shape == (128, 96)  # portrait: 90 degrees turned
    quarters = {"top-left": up[:64, :48], "top-right": up[:64, 48:], "bottom-left": up[64:, :48],
                "bottom-right": up[64:, 48:]}
    bright = max(quarters, key=lambda k: quarters[k].mean())
    assert bright == "bottom-left", {k: round(v.mean()) for k, v in quarters.items()}


def test_a_bt709_video_gives_a_picture_in_its_own_colours(tmp_path):
    """Frames were turned into RGB with BT.601's matrix whatever the input said: an HD camera's red car came out
    another red."""
    from av.video.reformatter import ColorRange, Colorspace

    red = np.zeros((48, 64, 3), np.uint8)
    red[:] = (200, 30, 40)  # RGB
    src = tmp_path / "hd.mkv"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"crf": "0"}
        cc = s.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1  # BT.709, limited
        for i in range(2):
            f = av.VideoFrame.from_ndarray(red, format="rgb24").reformat(
                format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    r = vidclear("enhance", str(src), str(tmp_path / "red.png"), "--model", "identity", "--max-frames", "1",
                 "--quiet")
    assert r.returncode == 0, r.stderr
    got = cv2.imread(str(tmp_path / "red.png"))[:, :, ::-1].reshape(-1, 3).mean(axis=0)  # RGB
    assert np.abs(got - red[0, 0]).max() <= 3, got
    r = vidclear("enhance", str(src), str(tmp_path / "red.mkv"), "--model", "identity", "--quiet")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "red.mkv")) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range) == (1, 1, 1, 1)
