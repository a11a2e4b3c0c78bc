"""``vidclear serve CONFIG.yaml``: many cameras on one engine, with metrics and health.

Each camera is the pipeline every command assembles (live policy), run by its
own thread that reconnects forever, so one camera's failure never stops the
others. All cameras share one inference service: frames of the same model and
size are batched across cameras (``batch.max_frames``, ``batch.max_wait_ms``),
each model is loaded once. SIGTERM/SIGINT stop every camera cleanly, segments
finalised; the exit code is 0 after a clean stop and 1 when a camera's output failed.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from pathlib import Path
from typing import Optional

from ..engine.assembly import start_service
from ..stop_signals import on_stop_signals
from .camera import Camera
from .config import ServeConfig, check_outputs, check_passwords, load_serve_config
from .keep_up import check_models_keep_up
from .metrics import Metrics, health_report, start_http

log = logging.getLogger(__name__)

EXIT_OK, EXIT_OUTPUT_FAILED = 0, 1
TRIM_EVERY_S = 60.0


def return_freed_memory() -> None:
    """Hand memory freed by the stage and codec threads back to the OS (glibc's malloc_trim).

    glibc keeps freed pages in per-thread arenas; with a dozen threads per camera
    creating and freeing frames and encoders, a server's RSS creeps up over hours
    although nothing leaks (docs/reliability.md). Elsewhere this does nothing."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


class Server:
    """The cameras, here (threads on one inference service) or on a Ray cluster (one actor each), and the
    /metrics and /healthz that cover them all."""

    def __init__(self, cfg: ServeConfig, on_cluster: bool = False, address: Optional[str] = None) -> None:
        self.cfg = cfg
        self.on_cluster = on_cluster
        self.stopping = threading.Event()
        self.metrics = Metrics()
        self.cameras: list = []  # none until they start: /healthz says so
        # first: a port in use fails before a model loads or a camera starts
        self.http = start_http(cfg.metrics.host, cfg.metrics.port, self.metrics.text, self.health)
        self.port: int = self.http.server_address[1]
        try:
            self._start_cameras(cfg, on_cluster, address)
        except BaseException:
            self._close_http()
            raise

    def _start_cameras(self, cfg: ServeConfig, on_cluster: bool, address: Optional[str]) -> None:
        if on_cluster:
            from .on_ray import start_remote_cameras

            log.info("serve --ray: the cameras run on the cluster's nodes; live.min_fps is not checked here")
            self.service = None
            self.cameras = start_remote_cameras(cfg, address)
        else:
            self.service = start_service(cfg, live=True)
            try:
                check_models_keep_up(cfg, self.service)
            except BaseException:
                self.service.close()
                raise
            self.cameras = [Camera(c, cfg, self.service, self.stopping, self.metrics.observer(c.name))
                            for c in cfg.cameras]
        self.metrics.watch(self.cameras, lambda: self.service.describe()["models"] if self.service else {})

    def start(self) -> None:
        if not self.on_cluster:
            for cam in self.cameras:
                cam.thread.start()
        count = len(self.cameras)
        log.info("serving %d camera%s (%s)%s; metrics on http://%s:%d/metrics, health on /healthz", count,
                 "" if count == 1 else "s", ", ".join(cam.name for cam in self.cameras),
                 " on the Ray cluster" if self.on_cluster else "", self.cfg.metrics.host, self.port)

    def health(self) -> tuple[int, dict]:
        if not self.cameras:
            return 503, {"healthy": False, "cameras": {}, "reason": "starting: the model loads, the cameras start"}
        return health_report(self.cameras)

    def stop(self) -> None:
        self.stopping.set()
        wait_s = self.cfg.live.stall_timeout + 5
        if self.on_cluster:
            for cam in self.cameras:
                cam.stop(wait_s)
        else:
            for cam in self.cameras:
                cam.stop()
            deadline = time.monotonic() + wait_s
            for cam in self.cameras:
                if cam.thread.ident is None:
                    continue  # never started
                cam.thread.join(max(0.1, deadline - time.monotonic()))
                if cam.thread.is_alive():
                    log.warning("camera %s did not stop within %.0f s", cam.name, wait_s)
            self.service.close()
        self._close_http()

    def _close_http(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def exit_code(self) -> int:
        failed = [cam for cam in self.cameras if cam.output_failures]
        for cam in failed:
            log.error("camera %s: its output failed %d time(s), last: %s", cam.name, cam.output_failures,
                      cam.last_output_error)
        return EXIT_OUTPUT_FAILED if failed else EXIT_OK


def run_serve(config_path: Path, duration: Optional[float] = None, ray_address: Optional[str] = None) -> int:
    """``ray_address``: '' for --ray without an address (cluster.address, RAY_ADDRESS, or a Ray started here)."""
    cfg = load_serve_config(config_path)
    check_outputs(cfg, config_path)
    on_cluster = ray_address is not None or cfg.cluster.address is not None
    if not on_cluster:  # on a cluster the variables are set where the cameras run (docs/cluster.md)
        check_passwords(cfg, config_path)
    server = Server(cfg, on_cluster, ray_address or cfg.cluster.address)
    done = threading.Event()

    def on_signal(signame: str) -> None:
        log.info("%s received: stopping every camera", signame)
        done.set()

    restore = on_stop_signals(on_signal)
    deadline = None if duration is None else time.monotonic() + duration
    try:
        server.start()
        while not done.is_set():
            left = TRIM_EVERY_S if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            if not done.wait(min(left, TRIM_EVERY_S)):
                return_freed_memory()
    finally:
        server.stop()
        restore()
    for cam in server.cameras:
        counts = cam.counts()
        log.info("camera %s: %d frames in, %d out, %d reconnects", cam.name, counts["frames_in"],
                 counts["frames_out"], counts["reconnects"])
    return server.exit_code()
