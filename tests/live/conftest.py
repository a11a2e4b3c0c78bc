"""Fixtures for the live tests: real RTSP servers on 127.0.0.1, stopped after each test."""

from __future__ import annotations

import pytest

from live_servers import RtspServer


@pytest.fixture
def rtsp_servers():
    started: list[RtspServer] = []

    def make(mode: str = "camera", *args: str, port: int | None = None) -> RtspServer:
        server = RtspServer(mode, *args, port=port).start()
        started.append(server)
        return server

    yield make
    for s in started:
        s.kill()
        s.log.close()
