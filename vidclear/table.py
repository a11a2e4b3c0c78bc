"""Plain-text tables, the one printer the commands use."""

from __future__ import annotations

import json
from typing import Callable, Sequence


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces (``vidclear models``, ``backends``)."""
    table = [tuple(header)] + [tuple(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip() for t in table)


def print_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print(columns(header, rows))


def print_listing(as_json: bool, records: list[dict], header: Sequence[str],
                  cells: Callable[[dict], Sequence[str]]) -> None:
    """A listing command's output: the records as JSON, or one table row per record."""
    if as_json:
        print(json.dumps(records, indent=2))
    else:
        print_columns(header, [cells(r) for r in records])
