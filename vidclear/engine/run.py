"""One input to one output (``vidclear enhance``, ``bench``): check, assemble, run, report.

A file run is the same engine as ``serve``: one inference service with one
stream. Everything a user can get wrong is checked before the first frame.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..config import Config
from ..errors import ConfigError, InputError, OutputError
from ..io.deinterlace import FILTER
from ..io.image_sink import check_one_picture
from ..io.live import LiveStats, is_live
from ..io.live_sinks import RtspSink, SegmentSink
from ..io.retention import removed_text
from ..io.sink import check_target
from ..io.source import VideoInfo
from ..pipeline.runner import RunResult
from ..progress import progress_reporter
from ..summary import format_live, format_reuse, format_summary, summary_json
from .reuse import ReuseStats
from .assembly import Plan, assemble, open_sinks, open_source, output_size, start_service
from .service import InferenceService

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    output: str
    result: RunResult
    size: Optional[tuple[int, int]]
    backend: dict
    damage: Optional[str] = None
    live: Optional[LiveStats] = None
    latencies: list[float] = field(default_factory=list)
    stale: int = 0  # live frames dropped before inference for being older than live.max_latency_ms
    reuse: Optional[ReuseStats] = None  # static-camera reuse, when it ran
    published: Optional[dict] = None  # an rtsp:// output: frames the server took ("sent") and "dropped"
    deinterlaced: int = 0  # frames rebuilt from interlaced fields (io/deinterlace.py)
    removed: Optional[dict] = None  # segment retention: old "segments" removed and their "bytes"

    @property
    def frames(self) -> int:
        return self.result.frames

    @property
    def interrupted_by(self) -> Optional[str]:
        return self.result.interrupted_by

    def report(self) -> str:
        size = f"{self.size[0]}x{self.size[1]}" if self.size else "no frames"
        sent = "" if self.published is None else f"; {self.published['sent']} sent, {self.published['dropped']} dropped"
        head = (
            f"output: {self.output} ({size}, {self.frames} frame{'s' * (self.frames != 1)}{sent})\n"
            f"model {self.backend.get('model')} on {self.backend.get('backend')}/{self.backend.get('device')}"
        )
        if self.backend.get("infer_workers", 1) > 1:
            threads = self.backend.get("threads")
            head += f" ({self.backend['infer_workers']} frames at once, {threads} thread{'s' * (threads != 1)} each)"
        if self.deinterlaced:
            n = self.deinterlaced
            head += f"\ninterlaced input: {n} frame{'s' * (n != 1)} deinterlaced ({FILTER})"
        if self.removed:
            head += f"\nretention: {removed_text(self.removed['segments'], self.removed['bytes'])}"
        text = head + "\n" + format_summary(self.result)
        if self.live is not None:
            text += "\n" + format_live(self.result, self.live, self.latencies, self.stale)
        if self.reuse is not None and self.reuse.frames:
            text += "\n" + format_reuse(self.reuse)
        return text

    def as_json(self) -> dict:
        reuse = {} if self.reuse is None else {"changed_tile_share": self.reuse.share,
                                               "whole_frames": self.reuse.whole_frames}
        published = {} if self.published is None else {"published": self.published}
        removed = {} if self.removed is None else {"retention_removed": self.removed}
        return summary_json(self.result, self.live, self.latencies, output=self.output, backend=self.backend,
                            stale=self.stale, deinterlaced=self.deinterlaced, **reuse, **published, **removed)


def run_enhance(
    input_path: Path | str,
    output_path: Path | str,
    cfg: Config,
    show_progress: bool = False,
    duration: Optional[float] = None,
    service: Optional[InferenceService] = None,
    name: str = "enhance",
    on_frames: Optional[Callable[[int], None]] = None,
    start: float = 0.0,
) -> RunOutcome:
    """Enhance one input into one output. ``service``: a running inference service to share (batch runs
    several files on one); without it the run starts its own, sized to this input, and closes it.
    ``start`` and ``duration``: from a file, the seconds of it to enhance (an excerpt whose timestamps begin at
    0); from a camera, ``duration`` stops the run after that long.
    ``on_frames(done)`` is told the frames done as they go (instead of the terminal progress bar)."""
    plan = Plan.from_config(cfg)  # before opening anything: a bad name or step is a config error
    live = is_live(str(input_path))
    input_file = None if live else Path(input_path)  # what an output must not overwrite
    check_target(str(output_path), input_file)  # before a camera is waited for or a model loaded
    if live and start:
        raise ConfigError("--start is for recorded files: a camera is enhanced from now")
    source = open_source(str(input_path), cfg, password_env=cfg.live.password_env)
    info = source.info
    cut = not live and (start or duration)
    try:
        if cut:
            source.cut(start, duration)  # type: ignore[union-attr]
        frames = expected_frames(info, start, duration) if cut else info.frames
        check_one_picture(output_path, frames, cfg.max_frames, live)
    except (InputError, OutputError):
        source.close()
        raise
    size = output_size(info.width, info.height, plan.spec.scale)
    own_service = service is None
    try:
        if own_service:
            service = start_service(cfg, live, (info.height, info.width))
        sinks = open_sinks([str(output_path)], cfg, source, size, input_file)
        run = assemble(cfg, plan, source, sinks, size, service, name)
    except BaseException:
        source.close()
        if own_service and service is not None:
            service.close()
        raise
    log.info("%s: %dx%d %s, %s frames -> %s x%d -> %dx%d", getattr(source, "name", input_path), info.width,
             info.height, info.codec, info.frames or ("live" if live else "?"), plan.spec.name, plan.spec.scale,
             *size)
    timer = threading.Timer(duration, run.pipeline.request_stop, args=("duration",)) if duration and live else None
    if timer:
        timer.daemon = True
        timer.start()
    total = None if live else (min(frames, cfg.max_frames) if frames and cfg.max_frames else (cfg.max_frames or frames))
    try:
        with progress_reporter(show_progress and on_frames is None, total or None) as on_progress:
            result = run.pipeline.run(on_frames or on_progress)
    finally:
        if timer:
            timer.cancel()
        run.close()
        if own_service:
            service.close()
    if result.frames == 0 and not live and result.interrupted_by is None:
        why = f": {source.damage}" if source.damage else " (an empty or damaged video stream)"
        raise InputError(f"no video frame could be decoded from {input_path}{why}")
    described = service.models[plan.spec.name].backend.describe() | {"infer_workers": service.policy.workers}
    reuse = run.infer.reuse.stats if run.infer.reuse is not None else None
    return RunOutcome(str(output_path), result, size, described, source.damage, source.stats if live else None,
                      list(run.encode.latencies), run.infer.stale, reuse, publish_account(sinks, result.frames),
                      source.deinterlacer.deinterlaced, retention_account(sinks))


def expected_frames(info: VideoInfo, start: float, duration: Optional[float]) -> int:
    """About how many frames an excerpt holds (for the progress bar; 0: not known)."""
    end = start + duration if duration else info.duration_s
    if end is None or not info.rate:
        return 0
    return max(1, round((min(end, info.duration_s or end) - start) * float(info.rate)))


def retention_account(sinks: list) -> Optional[dict]:
    """The old segments a segment output's retention removed in this run (None: no retention set)."""
    kept = [s.retention for s in sinks if isinstance(s, SegmentSink) and s.retention is not None]
    if not kept:
        return None
    return {"segments": sum(r.removed for r in kept), "bytes": sum(r.removed_bytes for r in kept)}


def publish_account(sinks: list, frames: int) -> Optional[dict]:
    """What an rtsp:// output delivered. A server that took none of the frames fails the run: exit 0 and a
    summary of "20 frames" would say a video went where nothing arrived."""
    server = next((s for s in sinks if isinstance(s, RtspSink)), None)
    if server is None:
        return None
    if frames and not server.frames_written:
        raise OutputError(f"cannot publish to {server.name}: {server.last_error or 'the server took no data'}; "
                          f"none of the {frames} enhanced frames reached it")
    return {"sent": server.frames_written, "dropped": server.dropped}
