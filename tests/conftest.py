"""Shared by every test folder: the helpers in tests/ importable, and real RTSP servers on 127.0.0.1."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_servers import RtspServer  # noqa: E402


@pytest.fixture
def rtsp_servers():
    """Start GStreamer RTSP servers (camera or record mode) on 127.0.0.1; all stopped after the test."""
    started: list[RtspServer] = []

    def make(mode: str = "camera", *args: str, port: int | None = None) -> RtspServer:
        server = RtspServer(mode, *args, port=port).start()
        started.append(server)
        return server

    yield make
    for s in started:
        s.kill()
        s.log.close()
