"""Running vidclear against the live test servers: a process whose log is read as it comes, HTTP, metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import av
import pytest

from media import REPO

SEGMENT_STARTED = re.compile(r"vidclear: segment .* started$")  # one a segment: a failure's log leaves them out


class Running:
    """A vidclear process whose output is read as it comes, so a test acts on what the process reports
    (connected, reconnected, healthy) instead of on a fixed time since start, which a loaded CI machine
    (slow imports) stretches."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "vidclear", *args], cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self.pid = self.proc.pid
        self._out: list[str] = []
        self._err: list[str] = []
        self._lock = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(f, buf), daemon=True)
                         for f, buf in ((self.proc.stdout, self._out), (self.proc.stderr, self._err))]
        for t in self._readers:
            t.start()

    def _read(self, stream, buf: list[str]) -> None:
        for line in stream:
            with self._lock:
                buf.append(line)
                self._lock.notify_all()
        with self._lock:
            self._lock.notify_all()

    @property
    def err(self) -> str:
        with self._lock:
            return "".join(self._err)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until a stderr line contains ``text``; fails the test (with the stderr) on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not any(text in line for line in self._err):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._readers[1].is_alive()):
                    said = "".join(line for line in self._err if not SEGMENT_STARTED.search(line))  # not buried
                    pytest.fail(f"vidclear never logged {text!r} (exit {self.proc.poll()}):\n{said[-3000:]}")
                self._lock.wait(min(left, 0.5))

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def communicate(self, timeout: float = 60) -> tuple[str, str]:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        for t in self._readers:
            t.join(10)
        return "".join(self._out), self.err

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode


CONNECTED = "live frames ->"  # logged once the camera is open and the pipeline starts


def wait_healthy(metrics_port: int, names: list[str], timeout: float = 60) -> None:
    """Until /healthz says every named camera is receiving frames."""
    deadline = time.monotonic() + timeout
    cams: dict = {}
    while time.monotonic() < deadline:
        try:
            _, body = http_get(f"http://127.0.0.1:{metrics_port}/healthz")
            cams = json.loads(body)["cameras"]
            if all(cams.get(n, {}).get("healthy") for n in names):
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.25)
    pytest.fail(f"cameras {names} not healthy within {timeout} s: {cams}")


def run(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidclear", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def segment_frames(folder: Path, pattern: str = "*") -> list[tuple[Path, list[float]]]:
    """Each segment file in order with the presentation times (s) of its decoded frames."""
    return [(seg, frame_times(seg)) for seg in sorted(folder.glob(pattern))]


def frame_times(path: Path) -> list[float]:
    """The presentation times (s) of a file's decoded frames."""
    with av.open(str(path)) as c:
        return [float(f.pts * f.time_base) for f in c.decode(video=0)]


def parse_metrics(text: str) -> dict:
    """/metrics read back by prometheus_client's own parser: metric families by name."""
    from prometheus_client.parser import text_string_to_metric_families

    return {f.name: f for f in text_string_to_metric_families(text)}


def sample_values(families: dict, sample: str, label: str = "camera") -> dict:
    """{label value: value} of one sample name (e.g. vidclear_frames_out_total) across its family."""
    return {s.labels[label]: s.value for f in families.values() for s in f.samples if s.name == sample}


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


