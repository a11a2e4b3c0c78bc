"""Where the project's shared data lives: ../shared/data beside the repository.

Datasets are read from there and never copied into the repository; every tool,
test and module that needs them starts from this one path.
"""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
