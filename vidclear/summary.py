"""The end-of-run summary: frames, wall time, fps, and per stage where the time went."""

from __future__ import annotations

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
        lines.append(f"stopped early by {result.interrupted_by}: the output holds every frame up to the stop")
    return "\n".join(lines)
