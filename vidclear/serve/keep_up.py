"""Can this machine run a camera's model at camera speed? ``serve`` asks before it starts.

A model made for offline work (``srgan-x4``, the forensic preset) runs at a frame
or two a second on a CPU; live, it would drop nearly every frame. Each distinct
camera model is timed on the service's backend on a frame of ``live.probe_size``
(a D1 CCTV stream, 704x576, by default; a quarter of it is timed and the time
scaled by the pixels, which keeps the start quick), or of its ``crop`` where it has
one, and serve refuses with one line when it would run under ``live.min_fps``. ``min_fps: 0`` turns the check off.

The probe loads its own copy of the model, not the service's: the service loads
each model for the first camera's frame size (a TensorRT engine's profile is
built for it), which the probe's size must not take.
"""

from __future__ import annotations

import logging
from typing import Collection, Optional

import numpy as np

from ..backends.base import median_infer_seconds
from ..engine.service import InferenceService
from ..errors import ConfigError
from ..models.registry import get_model
from ..io.crop import Region
from .config import CameraConfig, ServeConfig

log = logging.getLogger(__name__)

PROBE_SHRINK = 2  # the probe frame is probe_size / 2 on each side


def frames_per_second(service: InferenceService, model_name: str, size: tuple[int, int]) -> float:
    """Frames a second the model would infer at ``size`` (h, w), on this machine and backend."""
    spec = get_model(model_name)
    h, w = (max(spec.size_multiple, v // PROBE_SHRINK) for v in size)
    backend = service.new_backend(spec, (h, w))
    seconds = median_infer_seconds(backend, np.zeros((1, spec.input_channels, h, w), np.float32), calls=3)
    return 1.0 / max(seconds * (size[0] * size[1]) / (h * w), 1e-9)


def probe_hw(camera: CameraConfig, cfg: ServeConfig) -> tuple[int, int]:
    """The frame (h, w) a camera's model is timed at: its crop's size, known exactly, or ``live.probe_size``."""
    if camera.crop is None:
        return cfg.live.probe_hw
    region = Region.parse(camera.crop).even()
    return region.height, region.width


def check_models_keep_up(cfg: ServeConfig, service: InferenceService, only: Optional[Collection[str]] = None) -> None:
    """Refuse (ConfigError) a camera model that cannot infer ``live.min_fps`` frames a second here (of the cameras
    named in ``only``, a reload's new ones; else of all), and warn when all the cameras together need more than the
    machine infers: each alone keeps up, and they share one inference service."""
    if cfg.live.min_fps <= 0:
        return
    trials: dict[tuple[str, tuple[int, int]], list[str]] = {}  # (model, (h, w)) -> the cameras it serves
    for camera in cfg.cameras:
        trials.setdefault((camera.model or cfg.model, probe_hw(camera, cfg)), []).append(camera.name)
    speeds = {}
    for (name, size), cameras in sorted(trials.items()):
        fps = speeds[name, size] = frames_per_second(service, name, size)
        where = f"{size[1]}x{size[0]}"
        log.info("model '%s': %.1f frames/s at %s on %s/%s", name, fps, where, service.backend_name(name),
                 service.device)
        if fps < cfg.live.min_fps and (only is None or any(camera in only for camera in cameras)):
            cams = ", ".join(cameras)
            raise ConfigError(
                f"model '{name}' (cameras {cams}) runs at {fps:.1f} frames/s at {where} on "
                f"{service.device} here, under live.min_fps {cfg.live.min_fps:g}: it cannot keep a camera's frame "
                f"rate; use it on recorded files (vidclear enhance / batch) or choose a faster model")
    warn_if_together_too_slow(cfg, trials, speeds)


def warn_if_together_too_slow(cfg: ServeConfig, trials: dict[tuple[str, tuple[int, int]], list[str]],
                              speeds: dict[tuple[str, tuple[int, int]], float]) -> None:
    """Every camera takes a share of one inference service: at ``min_fps`` each, the shares may add up to more
    than the machine has. Timed one frame at a time, so batching (a GPU's above all) may recover some: a warning,
    not a refusal; ``bench --capacity`` measures it."""
    load = sum(cfg.live.min_fps * len(cameras) / speeds[key] for key, cameras in trials.items())
    if load <= 1:
        return
    count = sum(len(cameras) for cameras in trials.values())
    parts = "; ".join(f"{name} at {size[1]}x{size[0]}: {len(cameras)} camera{'s' if len(cameras) > 1 else ''}, "
                      f"{speeds[name, size]:.1f} frames/s alone" for (name, size), cameras in sorted(trials.items()))
    log.warning("the %d cameras together need %.1f times what this machine infers at live.min_fps %g (%s): each "
                "would get about %.1f frames/s; batching frames of several cameras may recover some (on a GPU above "
                "all): 'vidclear bench --capacity' measures how many cameras it keeps", count, load,
                cfg.live.min_fps, parts, cfg.live.min_fps / load)
