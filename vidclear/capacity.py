"""``vidclear bench --capacity``: how many cameras this box enhances at frame rate.

A clip is replayed at its own frame rate as N cameras through the serve engine
(one inference service, one live pipeline per camera, each encoding its own
output). N is kept when every stream keeps at least ``KEEP`` of its frames and
its capture-to-encoded latency p95 stays within ``live.max_latency_ms``. The
largest such N is found by doubling, then bisecting; with reuse off and with
reuse auto, in one run.
"""

from __future__ import annotations

import logging
import math
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator, Optional

import av
import numpy as np

from .config import Config
from .engine.assembly import Plan, assemble, open_sinks, output_size, start_service
from .errors import InputError
from .io.deinterlace import Deinterlacer
from .io.live import LIVE_TIME_BASE, LiveSource, LiveStats
from .io.live_clock import StreamClock
from .io.source import NATIVE_FORMAT, FileSource, VideoInfo

log = logging.getLogger(__name__)

KEEP = 0.99  # share of its frames every stream must keep
MAX_STREAMS = 64


class PacedClip(LiveSource):
    """Decoded frames replayed in a loop at ``rate``, as a live camera (no network, no decoder)."""

    def __init__(self, frames: list[av.VideoFrame], rate: Fraction, name: str) -> None:  # noqa: D107 - no LiveSource.__init__: nothing to open
        self._frames = frames
        self.rate = rate
        self.url = self.name = name
        self.stats = LiveStats(connected=True)
        self.stop = threading.Event()
        self.container = None
        self.damage = None
        self.rotation = 0
        self.container_format = "live"
        self.tags: dict[str, str] = {}
        self.audio_stream = None
        self.on_audio_packet = None
        self.stall_timeout = 5.0
        self._t0 = time.monotonic()
        self._opened_at = self._t0
        self.clock = StreamClock(name)
        self.deinterlacer = Deinterlacer("off", name)  # the frames are replayed as decoded: a measure of speed
        self.stats.connected_at = self._t0
        w, h = frames[0].width, frames[0].height
        self._size = (w, h)
        self.info = VideoInfo(w, h, LIVE_TIME_BASE, rate, 0, NATIVE_FORMAT, "h264", None)

    def connect(self) -> bool:
        return True

    def frames(self) -> Iterator[tuple[av.VideoFrame, float]]:
        period = 1 / float(self.rate)
        due = time.monotonic()
        i = 0
        while not self.stop.is_set():
            wait = due - time.monotonic()
            if wait > 0:
                self.stop.wait(wait)
                continue
            now = time.monotonic()
            self.stats.frames += 1
            self.stats.last_frame = now
            yield self._frames[i % len(self._frames)], now
            i += 1
            due += period

    def close(self) -> None:
        self.stop.set()


@dataclass
class Trial:
    streams: int
    ok: bool
    worst_kept: float  # the lowest frames out / frames in among the streams
    latency_p95_ms: float  # the highest p95 among the streams
    fps_per_stream: float  # mean frames written per second per stream


def load_frames(clip: Path, seconds: float = 30.0) -> tuple[list[av.VideoFrame], Fraction]:
    """Up to ``seconds`` of the clip, decoded once, and its frame rate."""
    source = FileSource(clip)  # a missing clip, or one that is not a video: one line, as enhance says it
    try:
        rate = Fraction(source.info.rate or 25)
        frames = list(islice(source.frames(), math.ceil(seconds * rate)))
    finally:
        source.close()
    if not frames:
        raise InputError(f"no frames decoded from {clip}")
    return frames, Fraction(rate)


def run_trial(cfg: Config, frames: list[av.VideoFrame], rate: Fraction, streams: int, seconds: float) -> Trial:
    """``streams`` cameras replaying the clip for ``seconds``, on one service."""
    plan = Plan.from_config(cfg)
    service = start_service(cfg, live=True)
    runs, threads = [], []
    with tempfile.TemporaryDirectory() as folder:
        try:
            for i in range(streams):
                source = PacedClip(frames, rate, f"cam{i}")
                size = output_size(source.info.width, source.info.height, plan.spec.scale)
                sinks = open_sinks([str(Path(folder) / f"cam{i}.ts")], cfg, source, size)
                runs.append(assemble(cfg, plan, source, sinks, size, service, f"cam{i}"))
            start = time.monotonic()
            for run in runs:
                threads.append(threading.Thread(target=run.pipeline.run, name="vidclear-capacity", daemon=True))
                threads[-1].start()
            time.sleep(seconds)
            for run in runs:
                run.pipeline.request_stop("capacity trial end")
            for t in threads:
                t.join(30)
            wall = time.monotonic() - start
        finally:
            for run in runs:
                run.close()
            service.close()
    kept, p95, fps = [], [], []
    for run in runs:
        # frames still queued when the trial stopped were never given a chance: not counted as lost
        frames_in = max(1, run.source.stats.frames - sum(q.discarded_at_stop for q in run.pipeline.queues))
        frames_out = run.encode.stats.items
        kept.append(frames_out / frames_in)
        p95.append(float(np.percentile(np.asarray(run.encode.latencies) * 1000, 95)) if run.encode.latencies else
                   float("inf"))
        fps.append(frames_out / wall)
    ok = min(kept) >= KEEP and max(p95) <= cfg.live.max_latency_ms
    log.info("capacity: %d stream(s), reuse %s: kept >= %.3f, latency p95 <= %.0f ms: %s", streams, cfg.reuse.mode,
             min(kept), max(p95), "ok" if ok else "too many")
    return Trial(streams, ok, min(kept), max(p95), float(np.mean(fps)))


def find_capacity(trial: Callable[[int], Trial], most: int = MAX_STREAMS) -> Optional[Trial]:
    """The largest N up to ``most`` whose trial passes (doubling, then bisecting); None when one stream fails."""
    tried: dict[int, Trial] = {}

    def ok(n: int) -> bool:
        if n not in tried:
            tried[n] = trial(n)
        return tried[n].ok

    if not ok(1):
        return None
    good, bad = 1, None
    while bad is None and good < most:
        n = min(good * 2, most)
        if ok(n):
            good = n
        else:
            bad = n
    while bad is not None and bad - good > 1:
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return tried[good]


def run_capacity(clip: Path, cfg: Config, seconds: float = 10.0, device_name: Optional[str] = None,
                 most: int = MAX_STREAMS) -> dict:
    """Capacity with reuse off and auto: ``{"capacity": [{"reuse", "streams", "fps_per_stream", ...}]}``."""
    frames, rate = load_frames(clip)
    results = []
    for mode in ("off", "auto"):
        run_cfg = cfg.model_copy(update={"reuse": cfg.reuse.model_copy(update={"mode": mode})})
        best = find_capacity(lambda n: run_trial(run_cfg, frames, rate, n, seconds), most)
        entry = {"reuse": mode, "streams": best.streams if best else 0,
                 "fps_per_stream": best.fps_per_stream if best else 0.0,
                 "latency_p95_ms": best.latency_p95_ms if best else None,
                 "kept": best.worst_kept if best else None}
        results.append(entry)
    report = {"clip": str(clip), "model": cfg.model, "rate": float(rate), "seconds_per_trial": seconds,
              "keep": KEEP, "max_latency_ms": cfg.live.max_latency_ms, "capacity": results}
    if device_name:
        report["device"] = device_name
    return report


def format_capacity(report: dict) -> str:
    lines = [f"vidclear bench --capacity: {report['model']} on {report['clip']} at {report['rate']:g} fps per camera"
             + (f", {report['device']}" if report.get("device") else ""),
             "", "| reuse | streams | fps per stream | latency p95 ms | worst kept |", "|---|---|---|---|---|"]
    for r in report["capacity"]:
        p95 = f"{r['latency_p95_ms']:.0f}" if r["latency_p95_ms"] is not None else "-"
        kept = f"{r['kept']:.3f}" if r["kept"] is not None else "-"
        lines.append(f"| {r['reuse']} | {r['streams']} | {r['fps_per_stream']:.1f} | {p95} | {kept} |")
    return "\n".join(lines)

