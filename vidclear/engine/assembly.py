"""The one assembly: a pipeline built from the config, for every command.

    source -> [lowlight] -> preprocess -> infer -> encode -> sinks

The chain is data: ``CHAIN`` names the stage kinds in the order a frame takes
them and ``STAGE_KINDS`` builds each one from the parts of a run (or leaves it
out, as lowlight is outside night mode). ``enhance``, ``serve`` and ``bench``
all come through ``assemble``; the models run through one ``InferenceService``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

from ..backends.base import BackendOptions, usable_cores
from ..backends.select import auto_fallback, choose_backend
from ..config import Config
from ..errors import ConfigError, InputError
from ..io.crop import Region
from ..io.image_sink import ImageSink, is_image_output
from ..io.live import LIVE_PREFIXES, LiveSource, is_live, is_rtsp
from ..io.live_sinks import RtspSink, SegmentSink
from ..io.retention import Retention
from ..io.segment_names import is_segment_pattern
from ..io.sink import FileSink, check_target
from ..io.source import FileSource
from ..io.tags import RecordingTags
from ..models.registry import ModelSpec, get_model
from ..pipeline.night import NightSwitch
from ..pipeline.runner import Pipeline
from ..pipeline.stage import Stage
from ..pipeline.stages import (
    DecodeStage,
    EncodeStage,
    InferStage,
    LiveDecodeStage,
    LowLightStage,
    PreprocessStage,
    Sink,
)
from ..secrets import redact, with_password
from ..steps import build_steps
from .provenance import recording_tags
from .reuse import TileReuse
from .service import InferenceService, Stream, plan_policy

log = logging.getLogger(__name__)

Source = Union[FileSource, LiveSource]


@dataclass(frozen=True)
class Plan:
    """What a config asks for, resolved before anything is opened: a bad name is a config error."""

    spec: ModelSpec
    night_spec: Optional[ModelSpec]
    steps: list
    denoise_spec: Optional[ModelSpec] = None

    @classmethod
    def from_config(cls, cfg: Config) -> "Plan":
        spec = get_model(cfg.model)
        night = cfg.lowlight.mode != "off"
        night_spec = get_model(cfg.lowlight.model) if night else None
        if night_spec is not None and (night_spec.channels != 3 or night_spec.scale != 1):
            raise ConfigError(f"lowlight.model '{night_spec.name}' is not a low-light model")
        denoise_spec = get_model(cfg.lowlight.denoise) if night and cfg.lowlight.denoise else None
        if denoise_spec is not None and (denoise_spec.channels != 3 or denoise_spec.scale != 1):
            raise ConfigError(f"lowlight.denoise '{denoise_spec.name}' is not a colour model of scale 1")
        if cfg.lowlight.denoise and not night:
            log.info("lowlight.denoise is set but lowlight.mode is off: the denoiser runs in night mode only")
        return cls(spec, night_spec, build_steps(cfg.steps), denoise_spec)


def start_service(cfg: Config, live: bool, frame_hw: Optional[tuple[int, int]] = None) -> InferenceService:
    """The inference service for this process: backend and device chosen once, policy from the config."""
    backend_cls, device = choose_backend(cfg.backend, cfg.device)
    policy = plan_policy(cfg, device, live, usable_cores())
    if policy.workers > 1:
        log.info("inference: %d frames at once, %d CPU thread(s) each", policy.workers, policy.threads)
    return InferenceService(backend_cls, device, BackendOptions.from_config(cfg, frame_hw), policy,
                            auto_fallback(cfg.backend))


def open_source(source: str, cfg: Config, fail_fast: bool = True, password_env: Optional[str] = None,
                label: Optional[str] = None) -> Source:
    """A file or a live stream; ``label`` (a camera's configured name) goes into a live source's log lines."""
    region = Region.parse(cfg.crop) if cfg.crop else None
    if is_live(source):
        live = cfg.live
        return LiveSource(with_password(source, password_env), live.transport, live.open_timeout,
                          live.stall_timeout, live.backoff_initial, live.backoff_max, live.max_retries, fail_fast,
                          label, cfg.deinterlace, region)
    if "://" in source:  # a mistyped scheme: not a file named "htp:/..." that is not found
        raise InputError(f"unsupported stream {redact(source)}: vidclear reads files and {', '.join(LIVE_PREFIXES)}")
    return FileSource(Path(source), deinterlace=cfg.deinterlace, crop=region)


def make_sink(target: str, cfg: Config, tags: RecordingTags, input_path: Optional[Path] = None,
              audio_template=None, live: bool = False) -> Sink:  # noqa: ANN001
    """An output from its name: rtsp:// publishes, a strftime pattern records segments, .png/.jpg is one
    picture, else a video file (from a ``live`` camera, one that plays up to a crash). Recordings get ``tags``
    (their source's, and how they were made)."""
    if is_rtsp(target):
        return RtspSink(target, cfg.encoder, cfg.live.transport)
    if is_segment_pattern(target):
        live = cfg.live
        keep = (live.keep_hours, live.keep_gb, live.keep_free_gb)
        return SegmentSink(target, live.segment_seconds, cfg.encoder, tags,
                           Retention(target, *keep) if any(v is not None for v in keep) else None)
    check_target(target, input_path)
    if is_image_output(target):
        return ImageSink(target, tags)
    return FileSink(Path(target), cfg.encoder, cfg.audio, audio_template, tags, live)


def output_size(width: int, height: int, scale: int) -> tuple[int, int]:
    out_w, out_h = width * scale, height * scale
    even = (out_w - out_w % 2, out_h - out_h % 2)
    if even != (out_w, out_h):
        log.info("output %dx%d is odd: encoding %dx%d (4:2:0 needs even sizes)", out_w, out_h, *even)
    return even


def open_sinks(targets: list[str], cfg: Config, source: Source, size: tuple[int, int],
               input_path: Optional[Path] = None) -> list[Sink]:
    """Every output opened at the output size; on a failure the ones already open are removed again."""
    sinks: list[Sink] = []
    tags = recording_tags(cfg, source)
    try:
        for target in targets:
            sink = make_sink(target, cfg, tags, input_path, source.audio_stream, isinstance(source, LiveSource))
            sink.open(*size, source.info.time_base, source.info.rate, source.info.colour)
            sinks.append(sink)
    except BaseException:
        for sink in sinks:
            sink.close(False)
        raise
    if isinstance(source, FileSource) and source.audio_stream is not None:
        files = [s for s in sinks if isinstance(s, FileSink)]
        if files:
            source.on_audio_packet = files[0].add_audio_packet
    return sinks


@dataclass
class Parts:
    """What the stage builders take: one run's config, source, models and outputs."""

    cfg: Config
    plan: Plan
    source: Source
    service: InferenceService
    stream: Stream
    sinks: list[Sink]
    size: tuple[int, int]
    on_latency: Optional[Callable[[float], None]] = None

    @property
    def live(self) -> bool:
        return isinstance(self.source, LiveSource)

    @property
    def frame_hw(self) -> tuple[int, int]:
        return self.source.info.height, self.source.info.width


def _decode(p: Parts) -> Stage:
    return LiveDecodeStage(p.source, p.cfg.max_frames) if p.live else DecodeStage(p.source, p.cfg.max_frames)


def _lowlight(p: Parts) -> Optional[Stage]:
    if p.plan.night_spec is None:
        return None
    low = p.cfg.lowlight
    denoise = p.service.model(p.plan.denoise_spec, p.frame_hw) if p.plan.denoise_spec is not None else None
    return LowLightStage(p.stream, p.service.model(p.plan.night_spec, p.frame_hw),
                         NightSwitch(low.mode, low.dark_below, low.bright_above), denoise)


def _preprocess(p: Parts) -> Stage:
    native_uint8 = p.service.backend_cls is not None and p.service.backend_cls.native_uint8
    return PreprocessStage(p.plan.spec.scale, p.plan.steps, luma_model=p.plan.spec.channels == 1,
                           luma_float=not native_uint8)


def make_reuse(cfg: Config, spec: ModelSpec, device: str = "cpu") -> Optional[TileReuse]:
    """The tile-reuse state for one stream, when the config asks for it and the model and device allow it.

    On a GPU the network is not the limit (an H200 ran espcn-x3 at 3000 frames/s at 480p while the
    pipeline was held to 285 by the encoder), and cutting tiles costs CPU time there: measured 91
    against 285 frames/s (docs/benchmark.md), so auto processes whole frames on a GPU.
    """
    r = cfg.reuse
    if r.mode == "off":
        return None
    if device != "cpu":
        log.info("reuse: on %s the network is not the limit and tiles cost CPU time: processing whole frames",
                 device)
        return None
    if spec.channels != 1:
        log.info("reuse: '%s' is a colour model; reuse applies to luma models: processing whole frames", spec.name)
        return None
    radius = spec.receptive_radius
    if radius is None:
        log.info("reuse: each output pixel of '%s' depends on the whole frame: processing whole frames", spec.name)
        return None
    return TileReuse(r.tile, radius, spec.scale, r.threshold, r.mean_threshold, r.refresh_every, r.full_above)


def _infer(p: Parts) -> Stage:
    max_age = p.cfg.live.max_latency_ms / 1000 if p.live else None
    return InferStage(p.stream, p.service.model(p.plan.spec, p.frame_hw), p.cfg.pipeline.batch_size, max_age,
                      in_flight=p.service.policy.workers, reuse=make_reuse(p.cfg, p.plan.spec, p.service.device))


def _encode(p: Parts) -> Stage:
    return EncodeStage(p.sinks, p.size, p.on_latency)


STAGE_KINDS: dict[str, Callable[[Parts], Optional[Stage]]] = {
    "decode": _decode,
    "lowlight": _lowlight,
    "preprocess": _preprocess,
    "infer": _infer,
    "encode": _encode,
}
CHAIN: tuple[str, ...] = ("decode", "lowlight", "preprocess", "infer", "encode")  # the path of a frame


@dataclass
class Assembly:
    """One assembled pipeline and the parts a command reports on."""

    pipeline: Pipeline
    stages: dict[str, Stage]
    stream: Stream
    source: Source
    sinks: list[Sink]
    size: tuple[int, int]

    @property
    def infer(self) -> InferStage:
        stage = self.stages["infer"]
        assert isinstance(stage, InferStage)
        return stage

    @property
    def encode(self) -> EncodeStage:
        stage = self.stages["encode"]
        assert isinstance(stage, EncodeStage)
        return stage

    def close(self) -> None:
        """Cancel whatever this pipeline left with the service."""
        self.stream.close()


def assemble(cfg: Config, plan: Plan, source: Source, sinks: list[Sink], size: tuple[int, int],
             service: InferenceService, name: str, on_latency: Optional[Callable[[float], None]] = None) -> Assembly:
    """The pipeline for one source and its outputs, its models served by ``service``.

    If building fails (a model that cannot load), the open sinks are closed and removed here."""
    stream = service.stream(name)
    parts = Parts(cfg, plan, source, service, stream, sinks, size, on_latency)
    try:
        built = {kind: STAGE_KINDS[kind](parts) for kind in CHAIN}
    except BaseException:
        stream.close()
        for sink in sinks:
            sink.close(False)
        raise
    stages = {kind: stage for kind, stage in built.items() if stage is not None}
    live = parts.live
    queue_size = cfg.live.queue_size if live else cfg.pipeline.queue_size
    pipeline = Pipeline(list(stages.values()), queue_size, policy="drop_oldest" if live else "block")
    return Assembly(pipeline, stages, stream, source, sinks, size)
