"""Seeded mutants of small real clips through `vidclear enhance`, in a pool of forked workers.

    python tests/fuzz_enhance.py WORKDIR COUNT SEED

Run as its own process (the test starts it): vidclear is imported once, then forked, so 200 runs
take seconds. Prints one JSON object: each mutant's kind, exit code, stderr lines, whether a
file sits at the output path, its decodable frames and the input's.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import random
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import numpy as np  # noqa: E402

from media import make_clip  # noqa: E402
from vidclear.cli import main  # noqa: E402

MUTATIONS = ("bitflip", "byterun", "truncate", "zerohead", "splice", "duplicate", "empty")
CRAFTED = ("huge", "tiny", "tenbit", "rotated", "vfr", "audioonly", "nodecodable")
KINDS = MUTATIONS + CRAFTED


def seeds(folder: Path) -> list[Path]:
    return [
        make_clip(folder / "seed.mp4", width=64, height=48, frames=12, audio=True),
        make_clip(folder / "seed.mkv", width=66, height=50, frames=12),
        make_clip(folder / "seed.ts", width=64, height=48, frames=12, audio=True),
        make_clip(folder / "seed.mov", width=64, height=48, frames=12),
    ]


def mutate(data: bytearray, kind: str, rng: random.Random, others: list[bytes]) -> bytes:
    if kind == "bitflip":
        for _ in range(rng.randint(1, 20)):
            p = rng.randrange(len(data))
            data[p] ^= 1 << rng.randrange(8)
    elif kind == "byterun":
        p, n = rng.randrange(len(data)), rng.randint(8, 512)
        data[p:p + n] = bytes([rng.randrange(256)]) * n
    elif kind == "truncate":
        data = data[: rng.randrange(1, len(data))]
    elif kind == "zerohead":
        n = rng.randint(4, 256)
        data[:n] = bytes(n)
    elif kind == "splice":
        other = rng.choice(others)
        data = data[: rng.randrange(len(data))] + other[rng.randrange(len(other)):]
    elif kind == "duplicate":
        p, n = rng.randrange(len(data)), rng.randint(16, 4096)
        data = data[:p] + data[p:p + n] + data[p:]
    elif kind == "empty":
        data = bytearray()
    return bytes(data)


def craft(folder: Path, i: int, kind: str, rng: random.Random) -> Path:
    """A file that is valid or plausible but unusual: the inputs a real archive holds besides damage."""
    name = f"m{i:03d}_{kind}"
    if kind == "huge":  # a raw YUV4MPEG header declaring an enormous frame, then a few bytes
        w, h = rng.choice([(65536, 65536), (100000, 2), (20000, 30000), (8194, 8192)])
        path = folder / f"{name}.y4m"
        path.write_bytes(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\nFRAME\n".encode() + rng.randbytes(4096))
        return path
    if kind == "tiny":  # 1x1 and odd sizes (4:4:4, since 4:2:0 needs even ones)
        w, h = rng.choice([(1, 1), (3, 5), (7, 1), (9, 13), (2, 3), (17, 5), (5, 3)])
        return make_clip(folder / f"{name}.mkv", width=w, height=h, frames=rng.randint(1, 6), codec="ffv1",
                         pix_fmt="yuv444p")
    if kind == "tenbit":
        codec, ext = rng.choice([("libx264", "mp4"), ("libx265", "mkv"), ("ffv1", "mkv")])
        options = {"preset": "ultrafast", "x265-params": "log-level=error"} if codec == "libx265" else None
        return make_clip(folder / f"{name}.{ext}", width=64, height=48, frames=6, codec=codec,
                         pix_fmt="yuv420p10le", options=options)
    if kind == "rotated":
        path = make_clip(folder / f"{name}.tmp.mp4", width=64, height=48, frames=6)
        return rotate(path, folder / f"{name}.mp4", rng.choice([90, 180, 270, -90]))
    if kind == "vfr":
        steps = [rng.choice([256, 512, 1024, 3000, 7]) for _ in range(10)]
        pts = [sum(steps[:k]) for k in range(10)]
        return make_clip(folder / f"{name}.{rng.choice(['mkv', 'mp4'])}", width=64, height=48, frames=10, pts=pts)
    if kind == "audioonly":
        path = folder / f"{name}.{rng.choice(['mp4', 'mkv', 'm4a'])}"
        with av.open(str(path), "w", format="mp4" if path.suffix == ".m4a" else None) as out:
            a = out.add_stream("aac", rate=48000)
            for start in range(0, 48000, 1024):
                frame = av.AudioFrame.from_ndarray((rng.random() * 0.1 * np.ones((1, 1024))).astype(np.float32),
                                                   format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                out.mux(a.encode(frame))
            out.mux(a.encode(None))
        return path
    if kind == "nodecodable":  # the container is sound; every video packet is noise
        src = make_clip(folder / f"{name}.tmp.mkv", width=64, height=48, frames=8)
        path = folder / f"{name}.mkv"
        with av.open(str(src)) as inp, av.open(str(path), "w") as out:
            stream = out.add_stream_from_template(inp.streams.video[0])
            for packet in inp.demux(video=0):
                if packet.size:
                    noise = av.Packet(rng.randbytes(packet.size))
                    noise.pts, noise.dts, noise.stream = packet.pts, packet.dts, stream
                    noise.time_base = packet.time_base
                    out.mux(noise)
        src.unlink()
        return path
    raise ValueError(kind)


def rotate(src: Path, dst: Path, degrees: int) -> Path:
    """A copy of ``src`` whose video carries a display rotation (as phones and some cameras write)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        stream.set_display_rotation(degrees)
        for packet in inp.demux(video=0):
            if packet.size:
                packet.stream = stream
                out.mux(packet)
    src.unlink()
    return dst


def decodable_frames(path: Path) -> int:
    """Frames a tolerant reader gets out of ``path`` before the first error."""
    count = 0
    try:
        with av.open(str(path)) as c:
            for packet in c.demux(c.streams.video[0]):
                try:
                    count += len(packet.decode())
                except av.error.FFmpegError:
                    break
    except (av.error.FFmpegError, IndexError, OSError, ValueError):
        return 0
    return count


def run(path: Path) -> dict:
    out = path.with_name(path.stem + "_out.mp4")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(["enhance", str(path), str(out), "--model", "bicubic-x2", "--quiet"])
        except SystemExit as e:
            rc = e.code
        except BaseException:  # noqa: BLE001 - the test reports it
            rc = "exception"
            err.write("Traceback (escaped main)\n" + traceback.format_exc())
    return {"mutant": path.name, "rc": rc, "stderr": err.getvalue().strip().splitlines(), "output": out.exists(),
            "frames_out": decodable_frames(out) if out.exists() else 0, "frames_in": decodable_frames(path)}


def main_(folder: Path, count: int, seed: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    originals = seeds(folder)
    others = [p.read_bytes() for p in originals]
    rng = random.Random(seed)
    mutants = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        if kind in CRAFTED:
            mutants.append(craft(folder, i, kind, rng))
            continue
        src = originals[i % len(originals)]
        path = folder / f"m{i:03d}_{kind}{src.suffix}"
        path.write_bytes(mutate(bytearray(src.read_bytes()), kind, rng, others))
        mutants.append(path)
    results, hangs = [], []
    with mp.get_context("fork").Pool(2) as pool:
        pending = [(m, pool.apply_async(run, (m,))) for m in mutants]
        for m, job in pending:
            try:
                results.append(job.get(timeout=60))
            except mp.TimeoutError:
                hangs.append(m.name)
    leftovers = sorted(p.name for p in folder.iterdir() if "vidclear-partial" in p.name)
    return {"results": results, "hangs": hangs, "leftovers": leftovers}


if __name__ == "__main__":
    print(json.dumps(main_(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
