"""``/metrics`` (Prometheus, through prometheus-client) and ``/healthz`` (JSON) for ``serve``.

Counters are read from the cameras at scrape time (they count across pipeline
restarts); capture-to-encoded latency is a histogram observed as frames are
encoded. Output labels are the outputs as configured, credentials redacted.
"""

from __future__ import annotations

import errno
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..errors import ConfigError
from .camera import Camera

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class CameraCollector(Collector):
    """Per-camera counters and health, read from the cameras when Prometheus scrapes."""

    def __init__(self, cameras: list[Camera], service_models: Callable[[], dict]) -> None:
        self.cameras = cameras
        self.service_models = service_models

    def collect(self) -> Iterator[Metric]:
        per_camera = [
            ("frames_in", "vidclear_frames_in", "frames received from the camera"),
            ("frames_out", "vidclear_frames_out", "frames encoded (taken by the encode stage)"),
            ("reconnects", "vidclear_reconnects", "camera reconnects"),
            ("clock_resyncs", "vidclear_clock_resyncs",
             "times the camera's clock jumped or a frame came over 2 s late, and its frames were stamped from arrival again"),
            ("stale", "vidclear_stale_frames", "frames dropped before inference for being older than live.max_latency_ms"),
            ("tiles", "vidclear_reuse_tiles", "tiles of the frames, with static-camera reuse on"),
            ("tiles_computed", "vidclear_reuse_tiles_computed", "tiles recomputed (their ratio to the tiles: the changed share)"),
        ]
        cameras = list(self.cameras)  # once: a reload may change the list while this scrape reads it
        counts = {cam.name: cam.counts() for cam in cameras}
        for key, name, doc in per_camera:
            family = CounterMetricFamily(name, doc, labels=["camera"])
            for cam in cameras:
                family.add_metric([cam.name], counts[cam.name][key])
            yield family
        dropped = CounterMetricFamily("vidclear_dropped_frames", "frames dropped to keep latency bounded, per queue",
                                      labels=["camera", "queue"])
        written = CounterMetricFamily("vidclear_output_frames", "frames written, per output", labels=["camera", "output"])
        out_dropped = CounterMetricFamily("vidclear_output_dropped_frames",
                                          "frames an RTSP output dropped while its server was unreachable",
                                          labels=["camera", "output"])
        out_reconnects = CounterMetricFamily("vidclear_output_reconnects", "RTSP output reconnects",
                                             labels=["camera", "output"])
        removed = CounterMetricFamily("vidclear_output_removed_segments",
                                      "old segments retention removed (live.keep_hours, keep_gb, keep_free_gb)",
                                      labels=["camera", "output"])
        removed_bytes = CounterMetricFamily("vidclear_output_removed_bytes", "bytes of the segments retention removed",
                                            labels=["camera", "output"])
        families = {"dropped": dropped, "written": written, "output_dropped": out_dropped,
                    "output_reconnects": out_reconnects, "removed_segments": removed, "removed_bytes": removed_bytes}
        for cam in cameras:
            for key, value in counts[cam.name].items():
                if isinstance(key, tuple):
                    families[key[0]].add_metric([cam.name, key[1]], value)
        yield from families.values()
        healthy = GaugeMetricFamily("vidclear_camera_healthy", "1 while every output of the camera is being written",
                                    labels=["camera"])
        free = GaugeMetricFamily("vidclear_output_disk_free_bytes",
                                 "free space on the disk a recording output writes to", labels=["camera", "output"])
        for cam in cameras:
            health = cam.health()
            healthy.add_metric([cam.name], 1 if health["healthy"] else 0)
            for output in health["outputs"]:
                if output.get("disk_free_bytes") is not None:
                    free.add_metric([cam.name, output["output"]], output["disk_free_bytes"])
        yield healthy
        yield free
        nodes = GaugeMetricFamily("vidclear_camera_node", "1 for the Ray node a camera runs on (serve on a cluster)",
                                  labels=["camera", "node"])
        for cam in cameras:
            if node := getattr(cam, "node", None):
                nodes.add_metric([cam.name, node], 1)
        yield nodes
        depth = GaugeMetricFamily("vidclear_queue_depth", "frames waiting in each queue of the camera's pipeline now",
                                  labels=["camera", "queue"])
        for cam in cameras:
            for queue, items in cam.queue_depths().items():
                depth.add_metric([cam.name, queue], items)
        yield depth
        batches = CounterMetricFamily("vidclear_inference_batches", "batches the inference service ran", labels=["model"])
        frames = CounterMetricFamily("vidclear_inference_frames", "frames the inference service ran", labels=["model"])
        for model, stats in self.service_models().items():
            batches.add_metric([model], stats["batches"])
            frames.add_metric([model], stats["frames"])
        yield batches
        yield frames


class Metrics:
    """The registry behind /metrics: the camera collector and the latency histogram."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram("vidclear_latency_seconds", "capture to encoded latency", ["camera"],
                                 registry=self.registry, buckets=LATENCY_BUCKETS)

    def observer(self, camera: str) -> Callable[[float], None]:
        return self.latency.labels(camera).observe

    def forget(self, camera: str) -> None:
        """A camera a reload removed or restarted: its latency series ends (its counters go with it)."""
        try:
            self.latency.remove(camera)
        except KeyError:  # it never had a frame encoded
            pass

    def watch(self, cameras: list[Camera], service_models: Callable[[], dict]) -> None:
        self.registry.register(CameraCollector(cameras, service_models))

    def text(self) -> bytes:
        return generate_latest(self.registry)


def health_report(cameras: Iterable[Camera], extra: Callable[[Camera], dict] | None = None) -> tuple[int, dict]:
    """(HTTP status, body): 503 while any camera is unhealthy, with each camera's state and reason."""
    cams = {cam.name: cam.health() | (extra(cam) if extra else {}) for cam in cameras}
    healthy = all(c["healthy"] for c in cams.values())
    return (200 if healthy else 503), {"healthy": healthy, "cameras": cams}


def start_http(host: str, port: int, metrics: Callable[[], bytes],
               health: Callable[[], tuple[int, dict]]) -> ThreadingHTTPServer:
    """A small HTTP server on its own thread: GET /metrics and /healthz."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/metrics"):
                status, body, ctype = 200, metrics(), CONTENT_TYPE_LATEST
            elif self.path.startswith("/healthz"):
                status, report = health()
                body, ctype = json.dumps(report).encode(), "application/json"
            else:
                status, body, ctype = 404, b"not found: try /metrics or /healthz\n", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as e:
        hint = ("; another program (another vidclear serve?) listens there: set metrics.port to a free port, or 0 "
                "for any") if e.errno == errno.EADDRINUSE else ""
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {e.strerror or e}{hint}") from None
    threading.Thread(target=server.serve_forever, name="vidclear-http", daemon=True).start()
    return server
