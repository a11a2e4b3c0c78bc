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

from media import make_clip  # noqa: E402
from vidclear.cli import main  # noqa: E402

KINDS = ("bitflip", "byterun", "truncate", "zerohead", "splice", "duplicate", "empty")


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
        src = originals[i % len(originals)]
        kind = KINDS[i % len(KINDS)]
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
