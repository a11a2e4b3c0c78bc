"""The settings a user picks from a list, shared by the config's schema and the command-line flags.

The flags cannot take them from the schema: importing ``vidclear.config`` loads the
steps (and torch), which ``vidclear --help`` should not wait for.
"""

from __future__ import annotations

from typing import Literal

CODECS = ("libx264", "libx265", "h264_nvenc", "hevc_nvenc", "auto")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DeinterlaceMode = Literal["auto", "on", "fields", "off"]  # io/deinterlace.py says what each does
