"""The end-of-run summary: frames, wall time, fps, and per stage where the time went."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .pipeline.runner import RunResult


def summary_rows(result: RunResult) -> list[list[str]]:
    rows = []
    for s in result.stages:
        share = 100 * s.busy / result.wall if result.wall > 0 else 0.0
        per_frame = 1000 * s.busy / s.items if s.items else 0.0
        rows.append(
            [
                s.name,
                str(s.items),
                f"{s.busy:.2f}",
                f"{share:.0f}%",
                f"{per_frame:.1f}",
                f"{s.wait_in:.2f}",
                f"{s.wait_out:.2f}",
            ]
        )
    return rows


HEADER = ["stage", "frames", "busy s", "busy % wall", "ms/frame", "wait in s", "wait out s"]


def format_summary(result: RunResult) -> str:
    """A plain-text (and Markdown) table that reads the same in a terminal, a log and the README."""
    rows = [HEADER] + summary_rows(result)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    busiest = result.busiest
    share = 100 * busiest.busy / result.wall if result.wall > 0 else 0.0
    lines = [
        f"frames {result.frames}, wall {result.wall:.2f} s, {result.fps:.1f} fps",
        "",
        line(HEADER),
        sep,
        *(line(r) for r in rows[1:]),
        "",
        f"busiest stage: {busiest.name} (busy {share:.0f}% of the wall time)",
    ]
    drops = [q for q in result.queues if q.dropped]
    if drops:
        lines.append("dropped: " + ", ".join(f"{q.name} {q.dropped}" for q in drops))
    if result.interrupted_by:
        discarded = sum(q.discarded_at_stop for q in result.queues)
        lines.append(f"stopped early by {result.interrupted_by}: the output holds every frame up to the stop"
                     + (f" ({discarded} frames queued at the stop were not processed)" if discarded else ""))
    return "\n".join(lines)


def latency_ms(latencies: list[float]) -> dict[str, Optional[float]]:
    if not latencies:
        return {"p50": None, "p95": None, "max": None}
    a = np.asarray(latencies) * 1000
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def summary_json(result: RunResult, live: Any = None, latencies: Optional[list[float]] = None, **extra: Any) -> dict:
    """The summary as data (for --summary-json, metrics and tests)."""
    out: dict[str, Any] = {
        "frames": result.frames,
        "wall_s": result.wall,
        "fps": result.fps,
        "interrupted_by": result.interrupted_by,
        "stages": [{"name": s.name, "items": s.items, "busy_s": s.busy, "wait_in_s": s.wait_in,
                    "wait_out_s": s.wait_out} for s in result.stages],
        "queues": [{"name": q.name, "maxsize": q.maxsize, "high_water": q.high_water, "dropped": q.dropped,
                    "discarded_at_stop": q.discarded_at_stop} for q in result.queues],
        "discarded_at_stop": sum(q.discarded_at_stop for q in result.queues),
        "dropped": sum(q.dropped for q in result.queues),
        "latency_ms": latency_ms(latencies or []),
    }
    if live is not None:
        out.update(frames_in=live.frames, fps_in=live.frames / result.wall if result.wall else 0.0,
                   reconnects=live.reconnects, first_frame_after_reconnect_s=live.first_frame_after_reconnect,
                   # CLOCK_MONOTONIC, shared by the processes of one machine: a test can compare its own times
                   first_frame_after_reconnect_monotonic=live.first_frame_after_reconnect_at)
    out.update(extra)
    return out


def format_live(result: RunResult, live: Any, latencies: list[float], stale: int = 0) -> str:
    lat = latency_ms(latencies)
    fps_in = live.frames / result.wall if result.wall else 0.0
    dropped = sum(q.dropped for q in result.queues)
    lat_text = (f"latency p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, max {lat['max']:.0f} ms"
                if lat["p50"] is not None else "latency n/a")
    return (f"live: frames in {live.frames} ({fps_in:.1f} fps), out {result.frames} ({result.fps:.1f} fps), "
            f"dropped {dropped} (+{stale} stale), reconnects {live.reconnects}, {lat_text}")


def format_reuse(stats: Any) -> str:
    """One line on static-camera reuse: how much of each frame was recomputed."""
    shares = np.asarray(stats.shares) * 100
    return (f"reuse: {100 * stats.share:.1f}% of tiles recomputed ({stats.computed} of {stats.tiles}); per frame "
            f"median {np.median(shares):.1f}%, max {shares.max():.1f}%; {stats.whole_frames} whole frames")
