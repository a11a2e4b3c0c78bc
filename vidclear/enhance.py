"""``vidclear enhance``: validate everything a user can get wrong, then run the pipeline."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from .backends.base import BackendOptions, usable_cores
from .backends.select import choose_backend
from .config import Config
from .errors import ConfigError
from .io.live import LiveSource, LiveStats, is_live
from .io.live_sinks import RtspSink, SegmentSink
from .io.sink import FileSink, check_output_path
from .io.source import FileSource
from .models.registry import ModelSpec, get_model
from .pipeline.night import NightSwitch
from .pipeline.runner import Pipeline, RunResult
from .pipeline.stage import Stage
from .pipeline.stages import (
    DecodeStage,
    EncodeStage,
    InferStage,
    LiveDecodeStage,
    LowLightStage,
    PreprocessStage,
    Sink,
    plan_infer_workers,
)
from .progress import progress_reporter
from .secrets import with_password
from .steps import build_steps
from .summary import format_live, format_summary, summary_json

log = logging.getLogger(__name__)


@dataclass
class EnhanceOutcome:
    output: str
    result: RunResult
    size: Optional[tuple[int, int]]
    backend: dict
    damage: Optional[str] = None
    live: Optional[LiveStats] = None
    latencies: list[float] = field(default_factory=list)
    stale: int = 0  # live frames dropped before inference for being older than live.max_latency_ms

    @property
    def frames(self) -> int:
        return self.result.frames

    @property
    def interrupted_by(self) -> Optional[str]:
        return self.result.interrupted_by

    def report(self) -> str:
        size = f"{self.size[0]}x{self.size[1]}" if self.size else "no frames"
        head = (
            f"output: {self.output} ({size}, {self.frames} frames)\n"
            f"model {self.backend.get('model')} on {self.backend.get('backend')}/{self.backend.get('device')}"
        )
        if self.backend.get("infer_workers", 1) > 1:
            threads = self.backend.get("threads")
            head += f" ({self.backend['infer_workers']} frames at once, {threads} thread{'s' * (threads != 1)} each)"
        text = head + "\n" + format_summary(self.result)
        if self.live is not None:
            text += "\n" + format_live(self.result, self.live, self.latencies, self.stale)
        return text

    def as_json(self) -> dict:
        return summary_json(self.result, self.live, self.latencies, output=self.output, backend=self.backend,
                            stale=self.stale)


def make_sink(target: str, cfg: Config, input_path: Optional[Path] = None, audio_template=None) -> Sink:  # noqa: ANN001
    """An output from its name: rtsp:// publishes, a strftime pattern records segments, else a file."""
    if target.lower().startswith(("rtsp://", "rtsps://")):
        return RtspSink(target, cfg.encoder, cfg.live.transport)
    if "%" in Path(target).name:
        return SegmentSink(target, cfg.live.segment_seconds, cfg.encoder)
    path = Path(target)
    check_output_path(path, input_path if input_path is not None and input_path.exists() else None)
    return FileSink(path, cfg.encoder, cfg.audio, audio_template)


def open_source(source: str, cfg: Config, fail_fast: bool = True, password_env: Optional[str] = None):  # noqa: ANN201
    if is_live(source):
        live = cfg.live
        return LiveSource(with_password(source, password_env), live.transport, live.open_timeout,
                          live.stall_timeout, live.backoff_initial, live.backoff_max, live.max_retries, fail_fast)
    return FileSource(Path(source))


def build_stages(source, spec: ModelSpec, infer: Stage, night_backend, sinks: list, size: tuple[int, int],  # noqa: ANN001
                 cfg: Config, steps: list) -> list[Stage]:
    live = isinstance(source, LiveSource)
    stages: list[Stage] = [LiveDecodeStage(source, cfg.max_frames) if live else DecodeStage(source, cfg.max_frames)]
    if night_backend is not None:
        switch = NightSwitch(cfg.lowlight.mode, cfg.lowlight.dark_below, cfg.lowlight.bright_above)
        stages.append(LowLightStage(night_backend, switch))
    stages += [PreprocessStage(spec.scale, steps, luma_model=spec.channels == 1), infer,
               EncodeStage(sinks, size)]
    return stages


def output_size(width: int, height: int, scale: int) -> tuple[int, int]:
    out_w, out_h = width * scale, height * scale
    even = (out_w - out_w % 2, out_h - out_h % 2)
    if even != (out_w, out_h):
        log.info("output %dx%d is odd: encoding %dx%d (4:2:0 needs even sizes)", out_w, out_h, *even)
    return even


def night_model(cfg: Config) -> Optional[ModelSpec]:
    night_spec = get_model(cfg.lowlight.model) if cfg.lowlight.mode != "off" else None
    if night_spec is not None and (night_spec.channels != 3 or night_spec.scale != 1):
        raise ConfigError(f"lowlight.model '{night_spec.name}' is not a low-light model")
    return night_spec


def run_enhance(
    input_path: Path | str,
    output_path: Path | str,
    cfg: Config,
    show_progress: bool = False,
    duration: Optional[float] = None,
) -> EnhanceOutcome:
    spec = get_model(cfg.model)
    night_spec = night_model(cfg)
    steps = build_steps(cfg.steps)  # before opening anything: a bad step is a config error
    live = is_live(str(input_path))
    if not live:
        input_path = Path(input_path)
    source = open_source(str(input_path), cfg, password_env=cfg.live.password_env)
    info = source.info
    size = output_size(info.width, info.height, spec.scale)
    options = BackendOptions.from_config(cfg, (info.height, info.width))
    try:
        backend_cls, device = choose_backend(cfg.backend, cfg.device)
        workers, options.threads = plan_infer_workers(cfg.pipeline.infer_workers, device, live, usable_cores())
        backend = backend_cls(spec, device, options)
        # The low-light stage runs one frame at a time: all cores, whatever the infer workers get.
        night_backend = backend_cls(night_spec, device, replace(options, threads=None)) if night_spec else None
        sink = make_sink(str(output_path), cfg, None if live else input_path, source.audio_stream)
        sink.open(*size, info.time_base, info.rate)
    except BaseException:
        source.close()
        raise
    if isinstance(sink, FileSink) and source.audio_stream is not None:
        source.on_audio_packet = sink.add_audio_packet
    log.info("%s: %dx%d %s, %s frames -> %s x%d -> %dx%d", getattr(source, "name", input_path), info.width,
             info.height, info.codec, info.frames or ("live" if live else "?"), spec.name, spec.scale, *size)
    max_age = cfg.live.max_latency_ms / 1000 if live else None
    if workers > 1:
        log.info("inference: %d frames at once, %d CPU thread(s) each", workers, options.cpu_threads)
    infer = InferStage(backend, cfg.pipeline.batch_size, max_age, workers)
    stages = build_stages(source, spec, infer, night_backend, [sink], size, cfg, steps)
    queue_size = cfg.live.queue_size if live else cfg.pipeline.queue_size
    pipeline = Pipeline(stages, queue_size, policy="drop_oldest" if live else "block")
    timer = threading.Timer(duration, pipeline.request_stop, args=("duration",)) if duration else None
    if timer:
        timer.daemon = True
        timer.start()
    total = None if live else (min(info.frames, cfg.max_frames) if info.frames and cfg.max_frames
                               else (cfg.max_frames or info.frames))
    try:
        with progress_reporter(show_progress, total or None) as on_progress:
            result = pipeline.run(on_progress)
    finally:
        if timer:
            timer.cancel()
    live_stats = source.stats if live else None
    encode = stages[-1]
    assert isinstance(encode, EncodeStage)
    described = backend.describe() | {"infer_workers": workers}
    return EnhanceOutcome(str(output_path), result, size, described, source.damage, live_stats,
                          list(encode.latencies), infer.stale)
