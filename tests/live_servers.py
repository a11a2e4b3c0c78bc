"""Real RTSP servers on 127.0.0.1 for the live tests: GStreamer gst-rtsp-server processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
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
        # stderr goes to a file, not a pipe nobody reads: GStreamer warnings could fill a pipe and block the server
        self.log = tempfile.TemporaryFile("w+")

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> "RtspServer":
        if not Path(SYSTEM_PYTHON).exists():
            pytest.fail(MISSING)
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(HERE / "gst_rtsp_server.py"), self.mode, "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.kill()
            pytest.fail(f"RTSP {self.mode} server did not start: {line!r} {self.stderr_tail()}\n{MISSING}")
        return self

    def stderr_tail(self, chars: int = 1500) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-chars:]

    def state(self) -> str:
        """For failure messages: is the server still up, and what did it print."""
        rc = self.proc.poll() if self.proc else None
        return f"RTSP {self.mode} server on port {self.port}: {'running' if rc is None else f'exited {rc}'}; " \
               f"stderr: {self.stderr_tail()!r}"

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




class StallingProxy:
    """A TCP relay in front of a server that can stop reading from its clients: a publish target whose
    uplink is too slow or whose process hangs. Its small receive buffer makes the client's send block
    within moments, as it would on a real slow link, instead of after megabytes of kernel buffering."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before listen: the window stays small
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while not self.closed.is_set():
                if from_client:
                    self.flowing.wait()
                data = src.recv(1024)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stall(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.closed.set()
        self.flowing.set()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv() on it
            except OSError:
                pass
            s.close()
