"""``serve`` on a Ray cluster: each camera's pipeline is a Ray actor, placed by the resources the config
asks for and restarted without limit, so a camera whose node dies starts again on another node.

The driver keeps ``/metrics`` and ``/healthz`` for every camera: ``RemoteCamera``
answers what a local ``Camera`` answers (counts, health, queue depths) from its
actor's last report, adds the node it runs on, and keeps counts going up
across restarts. An actor runs the same ``Camera`` as a local serve, on its own
inference service (models load once per actor).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from typing import Optional

from ..archive.on_ray import connect, import_ray
from .camera import Camera
from .config import CameraConfig, ServeConfig

log = logging.getLogger(__name__)

REPORT_TIMEOUT_S = 2.0  # the longest the poller waits for the cameras' reports
REPORT_EVERY_S = 0.5  # how often it asks


class CameraActor:
    """Runs one camera in a Ray worker; ``report`` is all the driver asks of it."""

    def __init__(self, camera_json: str, server_json: str) -> None:
        import ray

        from ..engine.assembly import start_service

        cfg = ServeConfig.model_validate_json(server_json)
        camera = CameraConfig.model_validate_json(camera_json)
        self.node = ray.get_runtime_context().get_node_id()
        self.incarnation = uuid.uuid4().hex  # a new one after every restart
        self.stopping = threading.Event()
        self.service = start_service(cfg, live=True)
        self.camera = Camera(camera, cfg, self.service, self.stopping)
        self.camera.thread.start()

    def report(self) -> dict:
        cam = self.camera
        return {"node": self.node, "incarnation": self.incarnation, "health": cam.health(), "counts": cam.counts(),
                "queues": cam.queue_depths(), "output_failures": cam.output_failures,
                "last_output_error": cam.last_output_error}

    def stop(self, timeout: float) -> dict:
        self.stopping.set()
        self.camera.stop()
        self.camera.thread.join(timeout)
        self.service.close()
        return self.report()


class RemoteCamera:
    """The driver's view of one camera actor, shaped like ``Camera`` for the metrics and health. Its reports
    come from ``poll_reports`` on a thread of their own, so /healthz and /metrics answer at once, also while a
    node is dying and its actors do not."""

    def __init__(self, ray, actor, cfg: CameraConfig) -> None:  # noqa: ANN001
        self.ray, self.actor, self.cfg, self.name = ray, actor, cfg, cfg.name
        self.last: Optional[dict] = None
        self.reachable = False
        self.pending = None  # the report asked for and not answered yet: never a second one behind it
        self.offset: Counter = Counter()  # counts of the incarnations before this one
        self._lock = threading.Lock()

    def _report(self) -> Optional[dict]:
        with self._lock:
            return self.last

    def take(self, report: Optional[dict]) -> None:
        """The actor's answer, or None when it gave none in time (its node died, or Ray is starting it again)."""
        with self._lock:
            if report is None:
                self.reachable = False
                return
            self.reachable = True
            if self.last is not None and report["incarnation"] != self.last["incarnation"]:
                self.offset += self.last["counts"]
                log.warning("camera %s runs again on node %s (was on %s)", self.name, report["node"],
                            self.last["node"])
            self.last = report

    @property
    def node(self) -> Optional[str]:
        report = self._report()
        return report["node"] if report else None

    @property
    def output_failures(self) -> int:
        report = self._report()
        return report["output_failures"] if report else 0

    @property
    def last_output_error(self) -> Optional[str]:
        report = self._report()
        return report["last_output_error"] if report else None

    def counts(self) -> Counter:
        report = self._report()
        return self.offset + (report["counts"] if report else Counter())

    def queue_depths(self) -> dict:
        report = self._report()
        return report["queues"] if report and self.reachable else {}

    def health(self) -> dict:
        report = self._report()
        if report is None or not self.reachable:
            where = f" (was on node {report['node']})" if report else ""
            health = {"healthy": False, "state": "reconnecting", "error": None,
                      "reason": f"no answer from the camera's actor{where}: its node is gone or Ray is starting it "
                                "again"}
        else:
            health = dict(report["health"])
        counts = self.counts()
        return health | {"node": report["node"] if report else None, "frames_in": counts["frames_in"],
                         "frames_out": counts["frames_out"], "reconnects": counts["reconnects"]}

    def stop(self, timeout: float) -> None:
        """Stop the camera (segments finalised) and end its actor, which Ray would otherwise start again."""
        try:
            self.last = self.ray.get(self.actor.stop.remote(timeout), timeout=timeout + 5)
        except Exception as e:  # noqa: BLE001 - a camera that cannot be reached is reported, not waited for
            log.warning("camera %s did not stop cleanly: %s", self.name, e)
        try:
            self.ray.kill(self.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone with its node, or Ray shutting down
            pass


class RayCameras:
    """The camera actors of one ``serve --ray``, and the thread that polls their reports. ``cameras`` is the
    list /metrics, /healthz and the poller read; a reload changes it in place (``start`` and ``retire`` only
    make and end actors)."""

    def __init__(self, cfg: ServeConfig, address: Optional[str]) -> None:
        self.ray = import_ray()
        connect(address, log_to_driver=True)
        self.actor_cls = self.ray.remote(CameraActor)
        self.cameras: list[RemoteCamera] = []
        self.stop_polling = threading.Event()
        for camera in cfg.cameras:
            self.cameras.append(self.start(camera, cfg))
        threading.Thread(target=poll_reports, args=(self.ray, self.cameras, self.stop_polling), name="camera-reports",
                         daemon=True).start()

    def start(self, camera: CameraConfig, cfg: ServeConfig) -> RemoteCamera:
        """One camera's actor, restarted by Ray without limit wherever it fits."""
        actor = self.actor_cls.options(name=f"vidclear-camera-{camera.name}", max_restarts=-1, max_task_retries=-1,
                                       num_cpus=cfg.cluster.num_cpus, num_gpus=cfg.cluster.num_gpus).remote(
            camera.model_dump_json(), cfg.model_dump_json())
        return RemoteCamera(self.ray, actor, camera)

    def retire(self, cameras: list[RemoteCamera], timeout: float) -> None:
        """These cameras stopped for good (a reload removed or changed them)."""
        for cam in cameras:
            cam.stop(timeout)

    def close(self, timeout: float) -> None:
        """Every camera stopped, and the polling with them (serve is stopping)."""
        self.stop_polling.set()
        self.retire(self.cameras, timeout)


def poll_reports(ray, cameras: list[RemoteCamera], stopping: threading.Event,  # noqa: ANN001 - the ray module
                 every: float = REPORT_EVERY_S, timeout: float = REPORT_TIMEOUT_S) -> None:
    """Ask every camera's actor for its report at once, ``every`` seconds, and wait ``timeout`` at most for all
    of them together: one camera on a dying node neither delays the others' reports nor the HTTP answers.

    If asking fails altogether (Ray's control plane unreachable, or Ray shut down under the thread), every
    camera is marked unanswered, so /healthz never shows a stale healthy report, and the poller tries again;
    once ``stopping`` is set such a failure is the shutdown itself and ends the thread quietly."""
    failing: Optional[str] = None  # the error last logged, so a lasting outage is one line, not one per poll
    while not stopping.is_set():
        try:
            ask_once(ray, cameras, timeout)
            failing = None
        except Exception as e:  # noqa: BLE001 - whatever Ray raises, the poller must outlive it
            if stopping.is_set():
                return
            if str(e) != failing:
                log.warning("cannot ask the camera actors for their reports (%s: %s); trying again every %.1f s",
                            type(e).__name__, e, every)
                failing = str(e)
            for cam in cameras:
                cam.pending = None
                cam.take(None)
        stopping.wait(every)


def ask_once(ray, cameras: list[RemoteCamera], timeout: float) -> None:  # noqa: ANN001 - the ray module
    """One round: a report asked of every actor without one pending, all awaited together for ``timeout``."""
    cameras = list(cameras)  # once: a reload may change the list meanwhile
    for cam in cameras:
        if cam.pending is None:
            cam.pending = cam.actor.report.remote()
    asked = {cam.pending: cam for cam in cameras}
    ready, _ = ray.wait(list(asked), num_returns=len(asked), timeout=timeout)
    for ref, cam in asked.items():
        report = None
        if ref in ready:
            cam.pending = None
            try:
                report = ray.get(ref)
            except Exception:  # noqa: BLE001 - the actor died while answering: ask it again
                pass
        cam.take(report)
