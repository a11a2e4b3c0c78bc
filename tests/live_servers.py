"""Real RTSP servers on 127.0.0.1 for the live tests: GStreamer gst-rtsp-server processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "live"
SYSTEM_PYTHON = "/usr/bin/python3"
MISSING = (
    "live tests need GStreamer's RTSP server for /usr/bin/python3: run `make live-deps` "
    "(apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,bad} gstreamer1.0-rtsp)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspServer:
    """One gst_rtsp_server.py process; can be killed, restarted on the same port, stopped and continued."""

    def __init__(self, mode: str, *args: str, port: int | None = None) -> None:
        self.mode, self.args = mode, list(args)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> "RtspServer":
        if not Path(SYSTEM_PYTHON).exists():
            pytest.fail(MISSING)
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(HERE / "gst_rtsp_server.py"), self.mode, "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.kill()
            pytest.fail(f"RTSP {self.mode} server did not start: {line!r} {err[-500:]}\n{MISSING}")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.kill()
            self.proc.wait(5)

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def wait_line(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if text in line:
                return True
            if not line and self.proc.poll() is not None:
                return False
        return False


