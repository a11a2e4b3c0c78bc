"""The driver's report poller of ``serve --ray`` outlives a failing Ray control plane: while asking fails,
every camera reads as unanswered (never as its last, stale, healthy report), a lasting outage is logged once,
the poller recovers when Ray answers again, and a failure after stop ends it quietly.

A scripted object stands in for Ray here, because a control plane that fails on cue cannot be made from a
real cluster in a unit test; tests/cluster/test_serve_on_ray.py runs the poller against real nodes."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Optional

from vidclear.serve.config import CameraConfig
from vidclear.serve.on_ray import RemoteCamera, poll_reports


class Ref:
    """What ``remote()`` hands back: hashable, as Ray's object refs are."""

    def __init__(self, report: dict) -> None:
        self.report = report


class Actor:
    """``actor.report.remote()`` answers a healthy report whose frame count grows with every ask."""

    def __init__(self) -> None:
        self.report = self
        self.asked = 0

    def remote(self) -> Ref:
        self.asked += 1
        return Ref({"node": "n1", "incarnation": "a", "health": {"healthy": True, "state": "running"},
                "counts": Counter(frames_in=self.asked, frames_out=self.asked),
                "queues": {}, "output_failures": 0, "last_output_error": None})


class ScriptedRay:
    """Each ``wait`` answers every ref ("ok") or raises the script's next error; the last step stops the poll."""

    def __init__(self, script: list, stopping: threading.Event) -> None:
        self.script, self.stopping = list(script), stopping

    def wait(self, refs: list, num_returns: int, timeout: float) -> tuple:
        step = self.script.pop(0)
        if not self.script:
            self.stopping.set()
        if step != "ok":
            raise step
        return refs, []

    def get(self, ref: Ref) -> dict:
        return ref.report


class WatchedCamera(RemoteCamera):
    """Records what /healthz would say of it after each answer the poller hands it."""

    def __init__(self) -> None:
        super().__init__(None, Actor(), CameraConfig(name="gate", url="rtsp://127.0.0.1/gate", outputs=["g.ts"]))
        self.healthy: list[bool] = []

    def take(self, report: Optional[dict]) -> None:
        super().take(report)
        self.healthy.append(self.health()["healthy"])


def test_a_failing_control_plane_marks_cameras_unanswered_logs_once_and_recovers(caplog):
    stopping = threading.Event()
    cams = [WatchedCamera(), WatchedCamera()]
    outage = ConnectionError("GCS at 127.0.0.1:6379 unreachable")
    ray = ScriptedRay(["ok", outage, outage, "ok", "ok"], stopping)
    with caplog.at_level(logging.WARNING, logger="vidclear.serve.on_ray"):
        poll_reports(ray, cams, stopping, every=0.0, timeout=0.1)

    for cam in cams:
        assert cam.healthy == [True, False, False, True, True], cam.healthy
        assert cam.counts()["frames_out"] == cam.actor.asked == 5  # asked anew in every round, the outage too
    warnings = [r.getMessage() for r in caplog.records if "cannot ask the camera actors" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "ConnectionError" in warnings[0] and "unreachable" in warnings[0]


def test_a_failure_once_stopping_ends_the_poller_without_a_warning(caplog, monkeypatch):
    escaped: list = []  # exceptions that ended the thread: at exit they print tracebacks into the user's terminal
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    stopping = threading.Event()
    cam = WatchedCamera()
    ray = ScriptedRay(["ok", RuntimeError("Ray has been shut down")], stopping)
    thread = threading.Thread(target=poll_reports, args=(ray, [cam], stopping), kwargs={"every": 0.0, "timeout": 0.1})
    with caplog.at_level(logging.WARNING, logger="vidclear.serve.on_ray"):
        thread.start()
        thread.join(5)
    assert not thread.is_alive()
    assert not escaped, [e.exc_value for e in escaped]
    assert not [r for r in caplog.records if "cannot ask" in r.getMessage()]
    assert cam.healthy == [True]  # the last answer before the shutdown stands
