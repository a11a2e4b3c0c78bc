"""``vidclear enhance``: validate everything a user can get wrong, then run the pipeline."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .backends.base import BackendOptions
from .backends.select import create_backend
from .config import Config
from .errors import ConfigError
from .io.sink import FileSink, check_output_path
from .io.source import FileSource
from .models.registry import get_model
from .pipeline.runner import Pipeline, RunResult
from .pipeline.night import NightSwitch
from .pipeline.stage import Stage
from .pipeline.stages import DecodeStage, EncodeStage, InferStage, LowLightStage, PreprocessStage
from .steps import build_steps
from .progress import progress_reporter
from .summary import format_summary

log = logging.getLogger(__name__)


@dataclass
class EnhanceOutcome:
    output: Path
    result: RunResult
    size: Optional[tuple[int, int]]
    backend: dict
    damage: Optional[str] = None

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
        return head + "\n" + format_summary(self.result)


def run_enhance(input_path: Path, output_path: Path, cfg: Config, show_progress: bool = False) -> EnhanceOutcome:
    spec = get_model(cfg.model)
    night_spec = get_model(cfg.lowlight.model) if cfg.lowlight.mode != "off" else None
    if night_spec is not None and (night_spec.channels != 3 or night_spec.scale != 1):
        raise ConfigError(f"lowlight.model '{night_spec.name}' is not a low-light model")
    steps = build_steps(cfg.steps)
    check_output_path(output_path, input_path if input_path.exists() else None)
    source = FileSource(input_path)
    info = source.info
    out_w, out_h = info.width * spec.scale, info.height * spec.scale
    even_w, even_h = out_w - out_w % 2, out_h - out_h % 2
    options = BackendOptions.from_config(cfg, (info.height, info.width))
    try:
        backend = create_backend(cfg.backend, spec, cfg.device, options)
        night_backend = create_backend(cfg.backend, night_spec, cfg.device, options) if night_spec else None
        sink = FileSink(output_path, cfg.encoder, cfg.audio, source.audio_stream)
        sink.open(even_w, even_h, info.time_base, info.rate)
    except BaseException:
        source.close()
        raise
    source.on_audio_packet = sink.add_audio_packet if source.audio_stream is not None else None
    log.info(
        "%s: %dx%d %s, %s frames -> %s x%d -> %dx%d",
        input_path,
        info.width,
        info.height,
        info.codec,
        info.frames or "?",
        spec.name,
        spec.scale,
        out_w,
        out_h,
    )
    if (even_w, even_h) != (out_w, out_h):
        log.info("output %dx%d is odd: encoding %dx%d (4:2:0 needs even sizes)", out_w, out_h, even_w, even_h)
    stages: list[Stage] = [DecodeStage(source, cfg.max_frames)]
    if night_backend is not None:
        switch = NightSwitch(cfg.lowlight.mode, cfg.lowlight.dark_below, cfg.lowlight.bright_above)
        stages.append(LowLightStage(night_backend, switch))
    stages += [
        PreprocessStage(spec.scale, steps, luma_model=spec.channels == 1),
        InferStage(backend, cfg.pipeline.batch_size),
        EncodeStage(sink),
    ]
    pipeline = Pipeline(stages, cfg.pipeline.queue_size, policy="block")
    total = min(info.frames, cfg.max_frames) if info.frames and cfg.max_frames else (cfg.max_frames or info.frames)
    with progress_reporter(show_progress, total or None) as on_progress:
        result = pipeline.run(on_progress)
    return EnhanceOutcome(output_path, result, sink.size, backend.describe(), source.damage)
