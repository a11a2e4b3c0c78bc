"""A terminal progress bar (frames, fps, ETA) that stays out of the way when not on a terminal."""

from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator, Optional


@contextlib.contextmanager
def progress_reporter(enabled: bool, total: Optional[int]) -> Iterator[Callable[[int], None]]:
    """Yields ``update(frames_done)``; a no-op unless ``enabled``."""
    if not enabled:
        yield lambda _done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    start = time.perf_counter()
    with Progress(
        TextColumn("[bold]enhance"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[fps]:>6.1f} fps"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("enhance", total=total, fps=0.0)

        def update(done: int) -> None:
            elapsed = time.perf_counter() - start
            bar.update(task, completed=done, fps=done / elapsed if elapsed > 0 else 0.0)

        yield update
