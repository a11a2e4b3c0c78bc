#!/usr/bin/env python3
"""Decode speed of a clip with FFmpeg's software H.264 decoder and with NVDEC (h264_cuvid), through PyAV.

    python tools/nvdec_probe.py CLIP [CLIP ...] [--json out.json]

Frames are decoded to system memory either way (PyAV hands out software frames); frames/s over the
whole clip, and the first error when a decoder cannot open.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import av


def decode(clip: Path, name: str) -> dict:
    with av.open(str(clip)) as c:
        stream = c.streams.video[0]
        try:
            ctx = av.CodecContext.create(name, "r")
            ctx.extradata = stream.codec_context.extradata
            ctx.open()
        except Exception as e:  # noqa: BLE001 - report why
            return {"decoder": name, "error": str(e)}
        frames = 0
        start = time.perf_counter()
        for packet in c.demux(stream):  # the last, empty packet flushes the decoder
            for _ in ctx.decode(packet):
                frames += 1
        seconds = time.perf_counter() - start
    return {"decoder": name, "frames": frames, "seconds": round(seconds, 3), "fps": round(frames / seconds, 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    for clip in args.clips:
        with av.open(str(clip)) as c:
            cc = c.streams.video[0].codec_context
            size = f"{cc.width}x{cc.height}"
        for name in ("h264", "h264_cuvid"):
            rows.append({"clip": clip.name, "size": size} | decode(clip, name))
            print(json.dumps(rows[-1]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
