"""``vidclear serve CONFIG.yaml``: many cameras, one shared model, metrics and health.

Each camera is its own pipeline (decode -> preprocess -> infer -> encode, live
policy) that reconnects forever, so one camera's failure never stops the
others. All cameras share one model instance: their infer stages submit frames
to a batcher that runs up to ``batch.max_frames`` same-sized frames at once,
waiting at most ``batch.max_wait_ms`` for a batch to fill. A small HTTP server
gives Prometheus text on /metrics and per-camera health on /healthz.
SIGTERM/SIGINT stop every camera cleanly, segments finalised.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty, Queue
from typing import Any, Optional

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .backends.base import Backend, BackendOptions
from .backends.select import create_backend
from .config import Config, ConfigError, _describe
from .enhance import build_stages, make_sink, night_model, open_source, output_size
from .frame import Frame, float_to_luma
from .models.registry import get_model
from .pipeline.runner import Pipeline
from .pipeline.stage import Stage
from .pipeline.stages import drop_stale
from .secrets import redact
from .steps import build_steps
from .summary import latency_ms

log = logging.getLogger(__name__)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CameraConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    url: str
    password_env: Optional[str] = None
    outputs: list[str] = Field(min_length=1, description="files, segment patterns or rtsp:// URLs")


class BatchConfig(_Strict):
    max_frames: int = Field(4, ge=1, le=64)
    max_wait_ms: float = Field(10.0, ge=0)


class MetricsConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(9108, ge=0, le=65535)


class ServeConfig(Config):
    cameras: list[CameraConfig] = Field(min_length=1)
    batch: BatchConfig = BatchConfig()
    metrics: MetricsConfig = MetricsConfig()


def load_serve_config(path: Path) -> ServeConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path}: not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path}: the top level must be a mapping of keys")
    try:
        cfg = ServeConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(redact(_describe(e, f"config {path}"))) from None
    names = [c.name for c in cfg.cameras]
    if len(set(names)) != len(names):
        raise ConfigError(f"config {path}: camera names must be unique")
    return cfg


class Batcher:
    """One model for every camera: frames of the same size are inferred together."""

    def __init__(self, backend: Backend, max_frames: int, max_wait_ms: float) -> None:
        self.backend = backend
        self.max_frames = max_frames
        self.max_wait = max_wait_ms / 1000
        self.requests: Queue[tuple[np.ndarray, Future]] = Queue()
        self.stop = threading.Event()
        self.batches = 0
        self.frames = 0
        self.thread = threading.Thread(target=self._run, name="vidclear-batcher", daemon=True)
        self.thread.start()

    def submit(self, luma: np.ndarray) -> Future:
        fut: Future = Future()
        self.requests.put((luma, fut))
        return fut

    def _run(self) -> None:
        pending: list[tuple[np.ndarray, Future]] = []
        while not self.stop.is_set():
            try:
                pending.append(self.requests.get(timeout=0.1))
            except Empty:
                continue
            deadline = time.monotonic() + self.max_wait
            while len(pending) < self.max_frames:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    pending.append(self.requests.get(timeout=left))
                except Empty:
                    break
            shape = pending[0][0].shape
            batch = [p for p in pending if p[0].shape == shape]
            pending = [p for p in pending if p[0].shape != shape]
            try:
                out = self.backend.infer(np.stack([b[0] for b in batch])[:, None])
            except Exception as e:  # noqa: BLE001 - each waiting camera gets the error
                for _, fut in batch:
                    fut.set_exception(e)
                continue
            self.batches += 1
            self.frames += len(batch)
            for (_, fut), y in zip(batch, out):
                fut.set_result(y[0])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)


class SharedInferStage(Stage):
    """The infer stage of one camera: hands its frames to the shared batcher."""

    name = "infer"

    def __init__(self, batcher: Batcher, max_age: float) -> None:
        super().__init__()
        self.batcher = batcher
        self.max_age = max_age
        self.stale = 0

    def process(self, frame: Frame) -> Optional[Frame]:
        fresh, stale = drop_stale([frame], self.max_age)
        self.stale += stale  # too old to be worth enhancing: latency stays bounded
        if not fresh:
            return None
        frame.y = float_to_luma(self.batcher.submit(frame.luma_in).result())
        frame.luma_in = None
        return frame


@dataclass
class Camera:
    cfg: CameraConfig
    stall_timeout: float
    source: Any = None
    pipeline: Optional[Pipeline] = None
    thread: Optional[threading.Thread] = None
    error: Optional[str] = None

    def health(self) -> dict:
        stats = self.source.stats if self.source is not None else None
        last = stats.last_frame if stats else None
        age = None if last is None else time.monotonic() - last
        healthy = age is not None and age <= self.stall_timeout
        encode = self.pipeline.stages[-1] if self.pipeline else None
        return {
            "healthy": healthy,
            "last_frame_age_s": None if age is None else round(age, 3),
            "connected": bool(stats and stats.connected),
            "error": self.error,
            "frames_out": encode.stats.items if encode else 0,
        }


class Server:
    def __init__(self, cfg: ServeConfig) -> None:
        self.cfg = cfg
        self.spec = get_model(cfg.model)
        if self.spec.channels != 1:
            raise ConfigError("serve batches luma super-resolution models; use lowlight.mode for night enhancement")
        self.night_spec = night_model(cfg)
        self.cameras = [Camera(c, cfg.live.stall_timeout) for c in cfg.cameras]
        options = BackendOptions.from_config(cfg)
        options.batch_size = cfg.batch.max_frames
        self.backend = create_backend(cfg.backend, self.spec, cfg.device, options)
        self.batcher = Batcher(self.backend, cfg.batch.max_frames, cfg.batch.max_wait_ms)
        self.stopping = threading.Event()
        self.http: Optional[ThreadingHTTPServer] = None

    # --- cameras ------------------------------------------------------------------
    def _run_camera(self, cam: Camera) -> None:
        """Open (retrying forever), then run; if the pipeline itself fails, log and start again."""
        while not self.stopping.is_set():
            try:
                cam.source = open_source(cam.cfg.url, self.cfg, fail_fast=False, password_env=cam.cfg.password_env)
                if not cam.source.connect():  # an unreachable camera waits here, retrying, until the stop
                    break
                info = cam.source.info
                size = output_size(info.width, info.height, self.spec.scale)
                sinks = [make_sink(o, self.cfg) for o in cam.cfg.outputs]
                for sink in sinks:
                    sink.open(*size, info.time_base, info.rate)
                night = None
                if self.night_spec is not None:
                    night = create_backend(self.cfg.backend, self.night_spec, self.cfg.device,
                                           BackendOptions.from_config(self.cfg, (info.height, info.width)))
                stages = build_stages(cam.source, self.spec, SharedInferStage(self.batcher, self.cfg.live.max_latency_ms / 1000), night, sinks, size,
                                      self.cfg, build_steps(self.cfg.steps))
                for st in stages:
                    st.stats.name = st.name
                cam.pipeline = Pipeline(stages, self.cfg.live.queue_size, policy="drop_oldest")
                if self.stopping.is_set():
                    cam.pipeline.request_stop("stop")
                cam.error = None
                cam.pipeline.run()
            except Exception as e:  # noqa: BLE001 - one camera's failure never stops the others
                cam.error = redact(str(e)) or type(e).__name__
                log.error("camera %s: %s", cam.cfg.name, cam.error)
                self.stopping.wait(self.cfg.live.backoff_max)

    def start(self) -> None:
        for cam in self.cameras:
            cam.thread = threading.Thread(target=self._run_camera, args=(cam,), name=f"vidclear-cam-{cam.cfg.name}",
                                          daemon=True)
            cam.thread.start()
        self._start_http()
        log.info("serving %d cameras; metrics on http://%s:%d/metrics", len(self.cameras), self.cfg.metrics.host,
                 self.port)

    def stop(self) -> None:
        self.stopping.set()
        for cam in self.cameras:
            if cam.pipeline is not None and not cam.pipeline.control.stop_reading.is_set():
                cam.pipeline.request_stop("stop")  # its source watches the same event
            elif cam.source is not None:
                cam.source.stop.set()  # still connecting
        deadline = time.monotonic() + self.cfg.live.stall_timeout + 5
        for cam in self.cameras:
            if cam.thread is not None:
                cam.thread.join(max(0.1, deadline - time.monotonic()))
        self.batcher.close()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()

    # --- metrics and health -----------------------------------------------------------
    def health(self) -> dict:
        return {c.cfg.name: c.health() for c in self.cameras}

    def metrics_text(self) -> str:
        lines = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
                lines.append(f"{name}{{{lab}}} {value}")

        cams = []
        for cam in self.cameras:
            stats = cam.source.stats if cam.source is not None else None
            stages = cam.pipeline.stages if cam.pipeline else []
            queues = cam.pipeline.queues if cam.pipeline else []
            encode = stages[-1] if stages else None
            lat = latency_ms(list(encode.latencies)) if encode is not None else latency_ms([])
            cams.append((cam, stats, stages, queues, encode, lat))
        metric("vidclear_frames_in_total", "counter", "frames received from the camera",
               [({"camera": c.cfg.name}, s.frames if s else 0) for c, s, *_ in cams])
        metric("vidclear_frames_out_total", "counter", "frames encoded",
               [({"camera": c.cfg.name}, e.stats.items if e else 0) for c, _, _, _, e, _ in cams])
        metric("vidclear_dropped_frames_total", "counter", "frames dropped to keep latency bounded, per queue",
               [({"camera": c.cfg.name, "queue": f"{a.name}->{b.name}"}, q.dropped)
                for c, _, st, qs, _, _ in cams for a, b, q in zip(st, st[1:], qs)])
        metric("vidclear_reconnects_total", "counter", "camera reconnects",
               [({"camera": c.cfg.name}, s.reconnects if s else 0) for c, s, *_ in cams])
        metric("vidclear_latency_ms", "gauge", "capture to encoded latency",
               [({"camera": c.cfg.name, "quantile": q}, v if v is not None else float("nan"))
                for c, *_, lat in cams for q, v in (("0.5", lat["p50"]), ("0.95", lat["p95"]), ("1", lat["max"]))])
        metric("vidclear_camera_healthy", "gauge", "1 when a frame came within stall_timeout",
               [({"camera": c.cfg.name}, 1 if c.health()["healthy"] else 0) for c, *_ in cams])
        metric("vidclear_batches_total", "counter", "shared model batches", [({}, self.batcher.batches)])
        return redact("\n".join(lines).replace("{}", "") + "\n")

    def _start_http(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/metrics"):
                    body, status, ctype = server.metrics_text().encode(), 200, "text/plain; version=0.0.4"
                elif self.path.startswith("/healthz"):
                    health = server.health()
                    status = 200 if all(h["healthy"] for h in health.values()) else 503
                    body, ctype = json.dumps({"cameras": health}).encode(), "application/json"
                else:
                    body, status, ctype = b"not found\n", 404, "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer((self.cfg.metrics.host, self.cfg.metrics.port), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, name="vidclear-http", daemon=True).start()


def run_serve(config_path: Path, duration: Optional[float] = None) -> int:
    cfg = load_serve_config(config_path)
    server = Server(cfg)
    done = threading.Event()
    signals = {}

    def on_signal(signum, _frame) -> None:  # noqa: ANN001
        log.info("%s received: stopping every camera", signal.Signals(signum).name)
        signals["name"] = signal.Signals(signum).name
        done.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        done.wait(duration)
    finally:
        server.stop()
        for s, old in previous.items():
            signal.signal(s, old)
    for name, h in server.health().items():
        log.info("camera %s: %d frames out", name, h["frames_out"])
    return 0
