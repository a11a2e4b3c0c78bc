"""What a recording says of its making: the source it came from and what vidclear did to it.

Whoever reads an enhanced file later, an investigator or a court, sees it without the
run's log: the comment names the source (a file's name and the excerpt taken, or the
camera) and the processing, and the source's own tags (its recording time above all)
are kept (``vidclear.io.tags``).
"""

from __future__ import annotations

from typing import Optional

from .. import __version__
from ..config import Config
from ..io.crop import Region
from ..io.live import LiveSource
from ..io.source import FileSource
from ..io.tags import RecordingTags
from ..models.registry import get_model


def recording_tags(cfg: Config, source: FileSource | LiveSource) -> RecordingTags:
    """The tags of every file this run writes."""
    live = isinstance(source, LiveSource)
    origin = source.name if live else source_text(source.path.name, source.excerpt, cfg.max_frames)
    return RecordingTags.of(source.tags, processing_note(cfg, origin), live)


def source_text(name: str, excerpt: Optional[tuple[float, Optional[float]]], max_frames: Optional[int]) -> str:
    """A file's name and the part of it taken: ``cam.mp4 (12 s to 17 s, at most 100 frames)``, or for one frame
    (a picture) ``cam.mp4 (its first frame from 12 s)``."""
    if max_frames == 1:
        return f"{name} (its first frame{f' from {excerpt[0]:g} s' if excerpt is not None and excerpt[0] else ''})"
    parts = []
    if excerpt is not None:
        start, duration = excerpt
        parts.append(f"{start:g} s to " + (f"{start + duration:g} s" if duration is not None else "its end"))
    if max_frames:
        parts.append(f"at most {max_frames} frames" if parts else f"its first {max_frames} frames")
    return f"{name} ({', '.join(parts)})" if parts else name


def processing_note(cfg: Config, origin: str) -> str:
    """What was done to the video, and to which (``origin``). Tile reuse is named: it may copy a tile's output
    from an earlier frame."""
    low = cfg.lowlight
    parts = [f"model {cfg.model} (x{get_model(cfg.model).scale})"]
    if low.mode != "off":
        parts.append(f"night mode {low.mode} ({low.model}{f' then {low.denoise}' if low.denoise else ''})")
    if cfg.steps:
        parts.append("steps " + ", ".join(step.name for step in cfg.steps))
    if cfg.crop:
        parts.append(f"region {Region.parse(cfg.crop).even()} (x, y, width, height)")
    parts.append(f"deinterlace {cfg.deinterlace}")
    if cfg.reuse.mode != "off":
        parts.append("tile reuse on (a tile whose input did not change keeps its earlier output)")
    return f"enhanced by vidclear {__version__} from {origin}: " + "; ".join(parts)
