"""One camera under ``serve``: its pipeline, started again whenever it fails, its counts and its health.

The pipeline is the one every command assembles; its models run on the
server's shared inference service, so a camera that dies leaves nothing behind
that another camera waits on. Health means output: a camera is healthy only
while every one of its outputs took a frame within ``stall_timeout``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Callable, Optional

from ..engine.assembly import Assembly, Plan, Source, assemble, open_sinks, open_source, output_size
from ..engine.service import InferenceService
from ..errors import OutputError, StageFailed, StreamSizeChanged
from ..io.live import is_rtsp
from ..io.live_sinks import RtspSink, SegmentSink
from ..io.retention import free_bytes
from ..io.segment_names import recording_folder
from ..secrets import redact
from .config import CameraConfig, ServeConfig

log = logging.getLogger(__name__)


def _is_output_failure(error: BaseException) -> bool:
    if isinstance(error, StageFailed):
        return error.stage == "encode" or isinstance(error.error, OutputError)
    return isinstance(error, OutputError)


def disk_free(target: str) -> Optional[int]:
    """Free bytes on the disk a recording output writes to, told where the camera runs (None: an RTSP output, or a
    folder that cannot be read)."""
    return None if is_rtsp(target) else free_bytes(recording_folder(target))


class Camera:
    def __init__(self, cfg: CameraConfig, server_cfg: ServeConfig, service: InferenceService,
                 stopping: threading.Event, on_latency: Optional[Callable[[float], None]] = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.run_cfg = server_cfg.for_camera(cfg)
        self.plan = Plan.from_config(self.run_cfg)
        self.service = service
        self.stopping = stopping
        self.on_latency = on_latency
        self.stall_timeout = self.run_cfg.live.stall_timeout
        self.outputs = [redact(o) for o in cfg.outputs]
        self.source: Optional[Source] = None
        self.assembly: Optional[Assembly] = None
        self.error: Optional[str] = None  # the last failure, until the pipeline writes again after it
        self.error_at = 0.0
        self.output_failures = 0
        self.last_output_error: Optional[str] = None
        self.totals: Counter = Counter()  # counts of the pipelines that have ended
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, name=f"vidclear-cam-{cfg.name}", daemon=True)

    # --- running --------------------------------------------------------------------
    def run(self) -> None:
        """Connect (retrying forever), assemble, run; if the pipeline fails, log it and start again."""
        while not self.stopping.is_set():
            try:
                source = open_source(self.cfg.url, self.run_cfg, fail_fast=False, password_env=self.cfg.password_env,
                                     label=self.name)
                source.restart_on_resize = True  # new segments at the camera's new size
                with self._lock:
                    self.source = source
                if not source.connect():  # an unreachable camera waits here, retrying, until the stop
                    break
                self._run_pipeline(source)
            except StageFailed as e:
                if isinstance(e.error, StreamSizeChanged):
                    log.warning("camera %s: %s: starting again at the new size", self.name, redact(str(e.error)))
                    continue  # at once: nothing is wrong, the outputs start new files at the new size
                self._failed(e)
            except Exception as e:  # noqa: BLE001 - one camera's failure never stops the others
                self._failed(e)
            finally:
                self._retire()

    def _failed(self, e: BaseException) -> None:
        """Log a failure of this camera's pipeline and wait before starting it again."""
        self.error = redact(str(e)) or type(e).__name__
        self.error_at = time.monotonic()
        if _is_output_failure(e):
            self.output_failures += 1
            self.last_output_error = self.error
        log.error("camera %s: %s", self.name, self.error)
        self.stopping.wait(self.run_cfg.live.backoff_max)

    def _run_pipeline(self, source: Source) -> None:
        info = source.info
        size = output_size(info.width, info.height, self.plan.spec.scale)
        sinks = open_sinks(self.cfg.outputs, self.run_cfg, source, size)
        assembly = assemble(self.run_cfg, self.plan, source, sinks, size, self.service, self.name, self.on_latency)
        with self._lock:
            self.assembly = assembly
        if self.stopping.is_set():
            assembly.pipeline.request_stop("stop")
        assembly.pipeline.run()

    def _retire(self) -> None:
        """Fold the ended pipeline's counts into the totals and let go of it."""
        with self._lock:
            self.totals.update(self._current_counts())
            if self.assembly is not None:
                self.assembly.close()
            elif self.source is not None:
                self.source.close()
            self.assembly = None
            self.source = None

    def stop(self) -> None:
        with self._lock:
            if self.assembly is not None and not self.assembly.pipeline.control.stop_reading.is_set():
                self.assembly.pipeline.request_stop("stop")  # its source watches the same event
            elif self.source is not None:
                self.source.stop.set()  # still connecting

    # --- counts and health ------------------------------------------------------------
    def _current_counts(self) -> Counter:
        counts: Counter = Counter()
        source, assembly = self.source, self.assembly
        if source is not None and source.stats is not None:
            counts["frames_in"] = source.stats.frames
            counts["reconnects"] = source.stats.reconnects
            counts["clock_resyncs"] = source.clock.resyncs
        if assembly is not None:
            counts["frames_out"] = assembly.encode.stats.items
            counts["stale"] = assembly.infer.stale
            if assembly.infer.reuse is not None:
                counts["tiles"] = assembly.infer.reuse.stats.tiles
                counts["tiles_computed"] = assembly.infer.reuse.stats.computed
            stages = list(assembly.stages.values())
            for a, b, q in zip(stages, stages[1:], assembly.pipeline.queues):
                counts[("dropped", f"{a.name}->{b.name}")] = q.dropped
            for target, sink in zip(self.outputs, assembly.sinks):
                counts[("written", target)] = sink.frames_written
                if isinstance(sink, RtspSink):
                    counts[("output_dropped", target)] = sink.dropped
                    counts[("output_reconnects", target)] = sink.reconnects
                if isinstance(sink, SegmentSink) and sink.retention is not None:
                    counts[("removed_segments", target)] = sink.retention.removed
                    counts[("removed_bytes", target)] = sink.retention.removed_bytes
        return counts

    def queue_depths(self) -> dict[str, int]:
        """Items waiting in each queue of the running pipeline now (empty while it reconnects)."""
        with self._lock:
            assembly = self.assembly
            if assembly is None:
                return {}
            stages = list(assembly.stages.values())
            return {f"{a.name}->{b.name}": len(q) for a, b, q in zip(stages, stages[1:], assembly.pipeline.queues)}

    def counts(self) -> Counter:
        """Everything this camera counted since the start, across pipeline restarts."""
        with self._lock:
            return self.totals + self._current_counts()

    def health(self) -> dict:
        now = time.monotonic()
        with self._lock:
            source, assembly = self.source, self.assembly
        stats = source.stats if source is not None else None
        last_in = stats.last_frame if stats is not None else None
        in_age = None if last_in is None else now - last_in
        outputs = []
        if assembly is not None:
            encode = assembly.encode
            # an output is judged from when frames could last have reached it: the run's or the connection's start
            since = max(encode.started, (stats.connected_at if stats is not None else None) or 0.0)
            for target, sink, last in zip(self.outputs, assembly.sinks, encode.last_written):
                age = now - max(last or 0.0, since)
                outputs.append({"output": target, "frames_written": sink.frames_written,
                                "last_write_age_s": None if last is None else round(now - last, 3),
                                "stalled": age > self.stall_timeout, "disk_free_bytes": disk_free(target)})
        if self.error and assembly is not None and any(last is not None and last > self.error_at
                                                       for last in assembly.encode.last_written):
            self.error = None  # the pipeline started again after the failure and writes: the failure is over
        state, reason = self._state(assembly, stats, in_age, outputs)
        counts = self.counts()
        return {
            "healthy": state == "ok",
            "state": state,
            "reason": reason,
            "model": self.plan.spec.name,
            "connected": bool(stats and stats.connected),
            "last_frame_age_s": None if in_age is None else round(in_age, 3),
            "frames_in": counts["frames_in"],
            "frames_out": counts["frames_out"],
            "reconnects": counts["reconnects"],
            "outputs": outputs,
            "error": self.error,
        }

    def _state(self, assembly: Optional[Assembly], stats, in_age: Optional[float],  # noqa: ANN001
               outputs: list[dict]) -> tuple[str, Optional[str]]:
        last_error = f"; last attempt: {stats.last_error}" if stats is not None and stats.last_error else ""
        if assembly is None:
            if self.error:
                return "error", self.error
            return "reconnecting", f"no input: connecting to the camera{last_error}"
        if self.error:  # started again after a failure, nothing written yet (a disk still full fails again)
            return "error", f"{self.error} (retrying)"
        if stats is not None and not stats.connected:
            since = "" if in_age is None else f" (last frame {in_age:.1f} s ago)"
            return "reconnecting", f"no input: reconnecting to the camera{since}{last_error}"
        if in_age is None or in_age > self.stall_timeout:
            return "no_input", ("no input: no frame yet" if in_age is None
                                else f"no input: no frame for {in_age:.1f} s (stall_timeout {self.stall_timeout:g} s)")
        stalled = [o["output"] for o in outputs if o["stalled"]]
        if stalled:
            return "no_output", (f"no output: frames arrive but nothing was written to {', '.join(stalled)} "
                                 f"for over {self.stall_timeout:g} s")
        return "ok", None
