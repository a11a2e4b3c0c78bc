"""A recording's container tags: what it keeps of its source and when it began.

An enhanced copy is handed on (to an investigator, a court, an archive) without its
source beside it, so it keeps the source's tags (its recording time, title, place,
comment) and says how it was made. Only the tags that describe the source's own file
format are left behind: the new file's muxer writes its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping, Optional

import av

# Of the source's own file: its format, and the program that wrote it (the copy's muxer names its own).
FORMAT_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder", "software", "duration"})


def kept_tags(metadata: Mapping[str, str]) -> dict[str, str]:
    """The source's container tags an enhanced copy keeps: all but the ones of its own file format."""
    return {key: value for key, value in metadata.items() if key.lower() not in FORMAT_TAGS}


def utc_timestamp(seconds: float) -> str:
    """A wall time as containers spell ``creation_time`` (what FFmpeg writes and reads back)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain_text(text: str) -> str:
    """Text that encodes as UTF-8: a file name that is not valid UTF-8 keeps its other characters."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class RecordingTags:
    """The tags each file of a recording gets. ``stamp_start``: a live recording, whose
    ``creation_time`` is the wall time its first frame is written (each segment's own)."""

    tags: dict[str, str] = field(default_factory=dict)
    stamp_start: bool = False

    @classmethod
    def of(cls, source_tags: Mapping[str, str], note: str, live: bool) -> "RecordingTags":
        """The source's tags with ``note`` (how vidclear made the copy) as the comment; a comment the source
        already had follows it, so neither is lost."""
        tags = {key: value for key, value in source_tags.items() if key.lower() != "comment"}
        theirs = next((value for key, value in source_tags.items() if key.lower() == "comment"), None)
        tags["comment"] = plain_text(note if not theirs else f"{note} (the source's comment: {theirs})")
        return cls(tags, stamp_start=live)

    def for_file(self, now: Optional[float] = None) -> dict[str, str]:
        """The tags of one file begun at ``now`` (a live recording's creation_time is that moment)."""
        if not self.stamp_start:
            return dict(self.tags)
        return {**self.tags, "creation_time": utc_timestamp(time.time() if now is None else now)}

    def write_to(self, container: av.container.OutputContainer, now: Optional[float] = None) -> None:
        """Set the tags of a file not yet started (before its first packet is muxed)."""
        container.metadata.update(self.for_file(now))
