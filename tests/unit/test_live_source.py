"""LiveSource's reading loop against a fake container: how it tells a stall from a failure, and reconnects."""

from __future__ import annotations

import logging
import time

import av
import numpy as np
import pytest

from vidclear.io import live
from vidclear.io.live import LiveSource


class FakeStream:
    def __init__(self) -> None:
        self.codec_context = type("CC", (), {"width": 32, "height": 16, "name": "h264", "pix_fmt": "yuv420p",
                                                   "colorspace": 2, "color_primaries": 2, "color_trc": 2})()
        self.average_rate = self.guessed_rate = 15


class FakePacket:
    def decode(self) -> list[av.VideoFrame]:
        return [av.VideoFrame.from_ndarray(np.zeros((16, 32, 3), np.uint8), format="rgb24")]


class FakeContainer:
    """Yields ``frames`` packets, waits ``silence`` seconds, then raises ``error``."""

    def __init__(self, frames: int, silence: float, error: Exception) -> None:
        self.streams = type("S", (), {"video": [FakeStream()]})()
        self.frames, self.silence, self.error = frames, silence, error

    def demux(self, _stream):
        for _ in range(self.frames):
            yield FakePacket()
        time.sleep(self.silence)
        raise self.error

    def close(self) -> None:
        pass


def read_until_reconnect(monkeypatch, silence: float, error: Exception) -> tuple[LiveSource, int]:
    """Open, read 3 frames, fail with ``error`` after ``silence`` s; stop on the first frame after the reopen."""
    opened = []

    def fake_open(url, mode, options, timeout):
        opened.append(url)
        return FakeContainer(3, silence, error)

    monkeypatch.setattr(live.av, "open", fake_open)
    src = LiveSource("rtsp://user:pw@127.0.0.1:1/cam", stall_timeout=0.2, backoff_initial=0.01)
    got = 0
    for _frame, _t in src.frames():
        got += 1
        if got == 4:
            src.stop.set()
    return src, got


EXIT = av.error.ExitError(-1414092869, "Immediate exit requested")
EIO = av.error.OSError(5, "Input/output error")


@pytest.mark.parametrize("error", [av.error.TimeoutError(-110, "timed out"), EXIT, EIO], ids=["timeout", "exit", "eio"])
def test_a_read_timeout_in_any_form_is_logged_as_a_stall_and_reconnected(monkeypatch, caplog, error):
    caplog.set_level(logging.INFO, logger="vidclear.io.live")
    src, got = read_until_reconnect(monkeypatch, silence=0.25, error=error)
    assert got == 4 and src.stats.reconnects == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "(stalled; stall_timeout 0.2 s)" in warnings[0], warnings
    assert "pw" not in warnings[0] and "user:***@" in warnings[0]


@pytest.mark.parametrize("error", [EXIT, EIO], ids=["exit", "eio"])
def test_an_error_with_frames_flowing_is_a_read_failure_not_a_stall(monkeypatch, caplog, error):
    caplog.set_level(logging.INFO, logger="vidclear.io.live")
    src, got = read_until_reconnect(monkeypatch, silence=0.0, error=error)
    assert got == 4 and src.stats.reconnects == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"read failed: {error.strerror}" in warnings[0], warnings


def test_a_clean_end_after_silence_is_the_stream_ending_not_a_stall(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="vidclear.io.live")
    src, got = read_until_reconnect(monkeypatch, silence=0.25, error=EOFError())
    assert got == 4 and src.stats.reconnects == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "read failed" in warnings[0] and "stalled" not in warnings[0], warnings
