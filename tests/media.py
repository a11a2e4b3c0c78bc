"""Test clips made on the fly with PyAV, and readers that report what a file really holds."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

import av
import numpy as np

from vidclear.io.source import FileSource
from vidclear.shared_data import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; fails (never skips) with a clear message when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"test data missing: {path} (the repo expects ../shared/data beside it)")
    return path


def pattern_frame(i: int, width: int, height: int) -> np.ndarray:
    """An RGB frame with edges and motion, so codecs and models have something to do."""
    yy, xx = np.mgrid[0:height, 0:width]
    r = ((xx + 3 * i) % 64 < 32).astype(np.uint8) * 200 + 20
    g = ((yy + 2 * i) % 48 < 24).astype(np.uint8) * 150 + 50
    b = ((xx + yy + i) % 255).astype(np.uint8)
    return np.dstack([r, g, b]).astype(np.uint8)


def make_clip(
    path: Path,
    width: int = 320,
    height: int = 240,
    frames: int = 60,
    fps: int = 30,
    audio: bool = False,
    pts: Optional[Sequence[int]] = None,
    time_base: Fraction = Fraction(1, 15360),
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    options: Optional[dict] = None,
    container_options: Optional[dict] = None,
    tags: Optional[dict] = None,
) -> Path:
    """Write a test clip. ``pts`` (in ``time_base``) gives a variable frame rate; ``tags``: the container's."""
    out = av.open(str(path), "w", options=container_options or {})
    out.metadata.update(tags or {})
    v = out.add_stream(codec, rate=fps)
    v.width, v.height, v.pix_fmt = width, height, pix_fmt
    v.time_base = time_base
    v.codec_context.time_base = time_base
    v.options = options or ({"preset": "ultrafast"} if codec.startswith("libx26") else {})
    a = None
    if audio:
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
    step = int(round(1 / (fps * time_base)))
    for i in range(frames):
        f = av.VideoFrame.from_ndarray(pattern_frame(i, width, height), format="rgb24")
        f = f.reformat(format=pix_fmt)
        f.pts = pts[i] if pts is not None else i * step
        f.time_base = time_base
        out.mux(v.encode(f))
    out.mux(v.encode(None))
    if a is not None:
        samples = int(48000 * frames / fps)
        t = np.arange(samples) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for start in range(0, samples, 1024):
            af = av.AudioFrame.from_ndarray(tone[:, start : start + 1024], format="fltp", layout="mono")
            af.sample_rate = 48000
            af.pts = start
            af.time_base = Fraction(1, 48000)
            out.mux(a.encode(af))
        out.mux(a.encode(None))
    out.close()
    return path


@dataclass
class Probe:
    width: int
    height: int
    frames: int
    pts_s: list[float]  # presentation times of the decoded frames, seconds
    audio_end_s: Optional[float]
    rotation: int
    planes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def probe(path: Path, keep_planes: bool = False) -> Probe:
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        pts, planes, rotation = [], [], 0
        width = height = 0
        for i, f in enumerate(c.decode(vs)):
            if i == 0:
                rotation = int(f.rotation or 0) % 360
            width, height = f.width, f.height
            pts.append(float(f.pts * f.time_base))
            if keep_planes:
                yuv = f.to_ndarray(format="yuv420p")
                h = f.height
                planes.append((yuv[:h], yuv[h : h + h // 4], yuv[h + h // 4 :]))
    audio_end = None
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            end = 0.0
            for p in c.demux(a):
                if p.pts is not None and p.duration:
                    end = max(end, float((p.pts + p.duration) * p.time_base))
            audio_end = end
    return Probe(width, height, len(pts), sorted(pts), audio_end, rotation, planes)


BATCH_CLIPS = {  # name: (width, height, frames, extra make_clip arguments)
    "a.mp4": (64, 48, 12, {}),
    "b.mkv": (80, 64, 10, {}),
    "c_audio.mp4": (64, 48, 12, {"audio": True}),
    "d_vfr.mkv": (64, 48, 10, {"pts": [0, 512, 1024, 3000, 3100, 5000, 6000, 6100, 9000, 9500]}),
    "e.mov": (96, 72, 8, {}),
    "sub/f.ts": (48, 32, 12, {}),
    "sub/g.mp4": (112, 80, 9, {}),
}
CORRUPT_CLIP = "h_corrupt.mp4"


def make_batch_clips(folder: Path, frames_scale: int = 1) -> Path:
    """Eight small clips for batch runs: sizes differ, one has audio, one a variable frame rate, one is
    corrupt (a video header and nothing after it); two sit in a subfolder."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    for name, (w, h, frames, extra) in BATCH_CLIPS.items():
        if "pts" in extra and frames_scale > 1:
            extra = {"pts": [p + k * 10_000 for k in range(frames_scale) for p in extra["pts"]]}
        make_clip(folder / name, w, h, frames * frames_scale, **extra)
    good = (folder / "a.mp4").read_bytes()
    (folder / CORRUPT_CLIP).write_bytes(good[:48] + bytes(4000))
    return folder


def make_interlaced_clip(path: Path, frames: int = 20, width: int = 128, height: int = 96, fps: int = 25,
                         coded_interlaced: bool = True) -> Path:
    """A clip of interlaced content, as an analogue camera behind a DVR sends: each frame weaves two fields
    captured half a frame apart, so a moving bar's edges comb (3 pixels a field: at x = 8 + 3 * (2 i) in
    frame i's first field, 8 + 3 * (2 i + 1) in its second). ``coded_interlaced``: H.264 coded as interlaced
    (the decoder flags every frame), or as progressive (the content combs, and nothing says so)."""
    out = av.open(str(path), "w")
    v = out.add_stream("libx264", rate=fps)
    v.width, v.height, v.pix_fmt = width, height, "yuv420p"
    v.options = {"preset": "ultrafast", "crf": "12"}
    if coded_interlaced:
        v.codec_context.flags |= av.codec.context.Flags.interlaced_dct | av.codec.context.Flags.interlaced_me
    for i in range(frames):
        woven = np.full((height, width), 40, np.uint8)
        # the bottom field first, the top one half a frame later: x264 flags its fields bottom first, from the
        # input frame's top-field-first flag, which PyAV cannot set (as NTSC DV and many capture cards send)
        for field, moment in ((1, 2 * i), (0, 2 * i + 1)):
            x = 8 + 3 * moment
            woven[field::2, x : x + width // 5] = 220
        f = av.VideoFrame.from_ndarray(np.dstack([woven] * 3), format="rgb24").reformat(format="yuv420p")
        f.pts = i
        out.mux(v.encode(f))
    out.mux(v.encode(None))
    out.close()
    return path


def combing(luma: np.ndarray) -> float:
    """How much each line differs from the mean of its neighbours: high where two fields disagree."""
    y = luma.astype(np.float32)
    return float(np.abs(y[1:-1] - (y[:-2] + y[2:]) / 2).mean())


def lumas(path: Path, **source_options) -> list[np.ndarray]:
    """The luma of every frame vidclear's file source gives (``source_options``: deinterlace, crop)."""
    source = FileSource(path, **source_options)
    try:
        return [f.to_ndarray()[: f.height].copy() for f in source.frames()]
    finally:
        source.close()
