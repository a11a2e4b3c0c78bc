"""``vidclear serve CONFIG.yaml``: many cameras on one engine, with metrics and health.

Each camera is the pipeline every command assembles (live policy), run by its
own thread that reconnects forever, so one camera's failure never stops the
others. All cameras share one inference service: frames of the same model and
size are batched across cameras (``batch.max_frames``, ``batch.max_wait_ms``),
each model is loaded once. SIGTERM/SIGINT stop every camera cleanly, segments
finalised; the exit code is 0 after a clean stop and 1 when a camera's output failed.
SIGHUP reads the config again and changes only the cameras that changed in it: the
others keep recording without a gap.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from pathlib import Path
from typing import Iterable, Optional

from ..engine.assembly import start_service
from ..errors import VidclearError
from ..io.retention import removed_text
from ..secrets import redact
from ..stop_signals import on_reload_signal, on_stop_signals
from .camera import Camera
from .config import SERVICE_KEYS, CameraConfig, ServeConfig, camera_run, check_cameras, load_serve_config
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


def _log_counts(cam: Camera) -> None:
    """A camera's counts as it stops, at the end or by a reload."""
    counts = cam.counts()
    removed, size = (sum(value for key, value in counts.items() if isinstance(key, tuple) and key[0] == name)
                     for name in ("removed_segments", "removed_bytes"))
    log.info("camera %s: %d frames in, %d out, %d reconnects%s", cam.name, counts["frames_in"], counts["frames_out"],
             counts["reconnects"], f"; retention {removed_text(removed, size)}" if removed else "")


def _names(cameras: Iterable[Camera]) -> str:
    return ", ".join(cam.name for cam in cameras) or "none"


class Server:
    """The cameras, here (threads on one inference service) or on a Ray cluster (one actor each), and the
    /metrics and /healthz that cover them all."""

    def __init__(self, cfg: ServeConfig, on_cluster: bool = False, address: Optional[str] = None) -> None:
        self.cfg = cfg
        self.on_cluster = on_cluster
        self.metrics = Metrics()
        self.fleet = None  # serve --ray: the camera actors (on_ray.RayCameras)
        self.cameras: list = []  # none until they start: /healthz says so
        self.failed_and_gone: list = []  # cameras a reload stopped after their output failed: the exit code counts them
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
            from .on_ray import RayCameras

            log.info("serve --ray: the cameras run on the cluster's nodes; live.min_fps is not checked here")
            self.service = None
            self.fleet = RayCameras(cfg, address)
            self.cameras = self.fleet.cameras
        else:
            self.service = start_service(cfg, live=True)
            try:
                check_models_keep_up(cfg, self.service)
            except BaseException:
                self.service.close()
                raise
            self.cameras = [self._camera(c, cfg) for c in cfg.cameras]
        self.metrics.watch(self.cameras, lambda: self.service.describe()["models"] if self.service else {})

    def _camera(self, camera: CameraConfig, cfg: ServeConfig) -> Camera:
        """A camera on this machine, with its own stop (a reload may retire it alone)."""
        return Camera(camera, cfg, self.service, threading.Event(), self.metrics.observer(camera.name))

    def _start_one(self, camera: CameraConfig, cfg: ServeConfig):  # noqa: ANN202 - a Camera or a RemoteCamera
        """A camera a reload added or changed, started: a thread here, an actor on a cluster."""
        if self.on_cluster:
            return self.fleet.start(camera, cfg)
        cam = self._camera(camera, cfg)
        cam.thread.start()
        return cam

    def start(self) -> None:
        if not self.on_cluster:
            for cam in self.cameras:
                cam.thread.start()
        count = len(self.cameras)
        log.info("serving %d camera%s (%s)%s; metrics on http://%s:%d/metrics, health on /healthz", count,
                 "" if count == 1 else "s", _names(self.cameras),
                 " on the Ray cluster" if self.on_cluster else "", self.cfg.metrics.host, self.port)

    def health(self) -> tuple[int, dict]:
        if not self.cameras:
            return 503, {"healthy": False, "cameras": {}, "reason": "starting: the model loads, the cameras start"}
        return health_report(self.cameras)

    def stop(self) -> None:
        wait_s = self.cfg.live.stall_timeout + 5
        if self.on_cluster:
            self.fleet.close(wait_s)
        else:
            self._retire(self.cameras, wait_s)
            self.service.close()
        self._close_http()

    def _retire(self, cameras: list, wait_s: float) -> None:
        """Stop these cameras for good, all at once, their segments finalised."""
        if self.on_cluster:
            self.fleet.retire(cameras, wait_s)
            return
        for cam in cameras:
            cam.stopping.set()
            cam.stop()
        deadline = time.monotonic() + wait_s
        for cam in cameras:
            if cam.thread.ident is None:
                continue  # never started
            cam.thread.join(max(0.1, deadline - time.monotonic()))
            if cam.thread.is_alive():
                log.warning("camera %s did not stop within %.0f s", cam.name, wait_s)

    def reload(self, config_path: Path) -> None:
        """The config read again: cameras added, removed or changed in it (their own entry, or a top-level
        setting they run with: the model, encoder, live...) are started, stopped or started again; the others run
        on untouched. The inference service and the endpoints (SERVICE_KEYS) change only at a restart, so a
        reload that changes them is refused, as is a config that serve would not start with; either way the
        cameras run on as before."""
        try:
            new = load_serve_config(config_path)
            fixed = [key for key in SERVICE_KEYS if getattr(new, key) != getattr(self.cfg, key)]
            if fixed:
                raise VidclearError(f"{', '.join(fixed)} changed, which takes a restart (the inference service and "
                                    "the endpoints stay as they started; a reload changes the cameras)")
            # by the config they run under now (a camera a reload left running keeps the entry it started with)
            running = {c.name: c for c in self.cfg.cameras}
            started = [c for c in new.cameras if c.name not in running
                       or camera_run(self.cfg, running[c.name]) != camera_run(new, c)]
            only_started = new.model_copy(update={"cameras": started})  # checked as serve checks them at start
            check_cameras(only_started, config_path, here=not self.on_cluster)
            if not self.on_cluster:  # as at start (the new ones, and all of them together): the nodes' speed is theirs
                check_models_keep_up(new, self.service, only={c.name for c in started})
        except VidclearError as e:
            log.error("reload: %s; the cameras run on as before", e)
            return
        wanted, again = {c.name for c in new.cameras}, {c.name for c in started}
        retired = [cam for cam in self.cameras if cam.name not in wanted or cam.name in again]
        self._retire(retired, self.cfg.live.stall_timeout + 5)
        for cam in retired:
            _log_counts(cam)
            self.metrics.forget(cam.name)
        self.failed_and_gone += [cam for cam in retired if cam.output_failures]
        kept = {cam.name: cam for cam in self.cameras if cam not in retired}
        fresh = {c.name: self._start_one(c, new) for c in started}
        self.cfg = new
        self.cameras[:] = [kept.get(c.name) or fresh[c.name] for c in new.cameras]  # the list /metrics reads
        log.info("reload: started %s; stopped %s; unchanged %s", _names(fresh.values()),
                 _names(cam for cam in retired if cam.name not in wanted), _names(kept.values()))

    def _close_http(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def exit_code(self) -> int:
        failed = [cam for cam in self.cameras + self.failed_and_gone if cam.output_failures]
        for cam in failed:
            log.error("camera %s: its output failed %d time(s), last: %s", cam.name, cam.output_failures,
                      cam.last_output_error)
        return EXIT_OUTPUT_FAILED if failed else EXIT_OK


def run_serve(config_path: Path, duration: Optional[float] = None, ray_address: Optional[str] = None) -> int:
    """``ray_address``: '' for --ray without an address (cluster.address, RAY_ADDRESS, or a Ray started here)."""
    cfg = load_serve_config(config_path)
    on_cluster = ray_address is not None or cfg.cluster.address is not None
    check_cameras(cfg, config_path, here=not on_cluster)  # on a cluster the passwords are the nodes' (docs/cluster.md)
    server = Server(cfg, on_cluster, ray_address or cfg.cluster.address)
    done = threading.Event()

    wake, reload = threading.Event(), threading.Event()

    def on_signal(signame: str) -> None:
        log.info("%s received: stopping every camera", signame)
        done.set()
        wake.set()

    def on_reload() -> None:
        log.info("SIGHUP received: reading %s again", config_path)
        reload.set()
        wake.set()

    restore = on_stop_signals(on_signal)
    restore_reload = on_reload_signal(on_reload)
    deadline = None if duration is None else time.monotonic() + duration
    try:
        server.start()
        while not done.is_set():
            left = TRIM_EVERY_S if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            woken = wake.wait(min(left, TRIM_EVERY_S))
            wake.clear()
            if reload.is_set() and not done.is_set():
                reload.clear()
                try:
                    server.reload(config_path)
                except Exception as e:  # noqa: BLE001 - a reload never takes down the cameras already running
                    log.error("reload failed (%s: %s); serve runs on", type(e).__name__, redact(str(e)),
                              exc_info=log.isEnabledFor(logging.DEBUG))
            elif not woken:
                return_freed_memory()
    finally:
        server.stop()
        restore()
        restore_reload()
    for cam in server.cameras:
        _log_counts(cam)
    return server.exit_code()
