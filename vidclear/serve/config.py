"""``serve``'s config: everything ``enhance`` takes, plus the cameras and the metrics endpoint.

Unknown keys are errors naming the key, in the cameras too. Every camera's
model (its own ``model:`` or the top-level one) is checked before anything starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from ..choices import DeinterlaceMode
from ..config import Config, CropText, load_config
from ..engine.assembly import Plan
from ..errors import ConfigError, VidclearError
from ..io.image_sink import is_image_output
from ..io.live import LIVE_PREFIXES, is_live, is_rtsp
from ..io.segment_names import is_segment_pattern
from ..io.sink import check_target
from ..secrets import redact, with_password


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CameraConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$",
                      description="the camera in logs and metrics: letters, digits, '_', '.' or '-'")
    url: str = Field(description="the camera's stream: rtsp://, rtmp://, srt://, http(s)://, udp:// or /dev/video")
    password_env: Optional[str] = Field(None, description="environment variable holding this camera's password")
    model: Optional[str] = Field(None, description="this camera's model (default: the top-level model)")
    crop: CropText = Field(None, description="X,Y,WIDTH,HEIGHT: enhance only this region of the camera's frame")
    deinterlace: Optional[DeinterlaceMode] = Field(
        None, description="this camera's deinterlacing (default: the top-level one); on: an analogue channel "
        "a DVR codes as progressive")
    outputs: list[str] = Field(min_length=1, description="files, segment patterns or rtsp:// URLs")
    keep_hours: Optional[float] = Field(None, gt=0, description="this camera's live.keep_hours (its segments' age)")
    keep_gb: Optional[float] = Field(None, gt=0, description="this camera's live.keep_gb (its segments' space)")


CAMERA_KEEPS = ("keep_hours", "keep_gb")  # the retention limits a camera may set for itself


class MetricsConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(9108, ge=0, le=65535)


class ServeConfig(Config):
    cameras: list[CameraConfig] = Field(
        min_length=1, description="the live cameras, each a name, a url and its outputs; configs/cameras.example.yaml "
                                  "shows them. For recorded files use 'vidclear enhance' or 'vidclear batch'")
    metrics: MetricsConfig = MetricsConfig()

    def for_camera(self, camera: CameraConfig) -> Config:
        """The config one camera's pipeline runs with: its own model, crop, deinterlacing and retention where it
        names them."""
        data = self.model_dump(exclude={"cameras", "metrics"})
        if camera.model is not None:
            data["model"] = camera.model
        if camera.deinterlace is not None:
            data["deinterlace"] = camera.deinterlace
        data["crop"] = camera.crop  # a region is a camera's own
        for key in CAMERA_KEEPS:
            if getattr(camera, key) is not None:
                data["live"][key] = getattr(camera, key)
        return Config.model_validate(data)


# What the inference service (backend, device, batching) and the endpoints are made of: they stay as serve started
# them, so a reload that changes one is refused. Every other setting is a camera's pipeline's (camera_run).
SERVICE_KEYS = ("backend", "device", "precision", "cpu_precision", "cuda_graphs", "pipeline", "batch", "tensorrt",
                "metrics", "cluster")
NOT_A_CAMERAS = {"archive"}  # batch's: no camera reads it
FOLDED = {"model", "deinterlace", "crop", *CAMERA_KEEPS}  # a camera's own, folded in by for_camera


def camera_run(cfg: ServeConfig, camera: CameraConfig) -> tuple[dict, dict]:
    """All that one camera's pipeline is made from: its stream and outputs, and the settings it runs with. A
    reload starts a camera again when this changes: a top-level model, encoder or live setting changes every
    camera that uses it; a camera that now names the model it ran with anyway runs on."""
    return camera.model_dump(exclude=FOLDED), cfg.for_camera(camera).model_dump(exclude=NOT_A_CAMERAS)


def load_serve_config(path: Path) -> ServeConfig:
    cfg = load_config(path, model=ServeConfig)
    for camera in cfg.cameras:
        if not is_live(camera.url):
            raise ConfigError(f"config {path}: camera {camera.name}: url {redact(camera.url)} is not a camera stream "
                              f"(it must start with {', '.join(LIVE_PREFIXES)}); for recorded files use "
                              "'vidclear enhance' or 'vidclear batch'")
    if cfg.crop is not None:
        raise ConfigError(f"config {path}: crop is a camera's own: give it under the camera whose region it is "
                          "(cameras: [{name: ..., crop: ...}])")
    names = [c.name for c in cfg.cameras]
    if len(set(names)) != len(names):
        raise ConfigError(f"config {path}: camera names must be unique")
    writers: dict[str, str] = {}  # an output, as the machine sees it -> the camera writing it
    for camera in cfg.cameras:
        for output in camera.outputs:
            if is_image_output(output):
                raise ConfigError(f"config {path}: camera {camera.name}: {redact(output)} is a picture; a camera "
                                  "records video: a file (.ts .mkv .mp4 .mov), a segment pattern or an rtsp:// URL")
            key = output if is_rtsp(output) else str(Path(output).resolve())
            if key in writers:
                raise ConfigError(f"config {path}: cameras {writers[key]} and {camera.name} both write {redact(output)}"
                                  if writers[key] != camera.name else
                                  f"config {path}: camera {camera.name} names the output {redact(output)} twice")
            writers[key] = camera.name
    for camera in cfg.cameras:
        keeps = [key for key in CAMERA_KEEPS if getattr(camera, key) is not None]
        if keeps and not any(is_segment_pattern(output) for output in camera.outputs):
            named = " and ".join(keeps)
            raise ConfigError(f"config {path}: camera {camera.name}: {named} {'are' if len(keeps) > 1 else 'is'} for "
                              "segment outputs, and it records none: give it a segment pattern (such as "
                              f"rec/cam_%Y%m%d_%H%M%S.ts) or drop {named}")
    for camera in cfg.cameras:
        try:
            Plan.from_config(cfg.for_camera(camera))
        except VidclearError as e:
            raise ConfigError(f"config {path}: camera {camera.name}: {e}") from None
    return cfg


def check_cameras(cfg: ServeConfig, path: Path, here: bool = True) -> None:
    """Before serving: every recording output can be written (checked at start, not at load, so
    that a preset can name folders of the machine it is meant for), and, for cameras run ``here``,
    every ``password_env`` is set (it was a camera retrying forever, logging that the variable was
    missing, while serve ran on as if healthy; on a cluster the variables live on the nodes)."""
    for camera in cfg.cameras:
        try:
            for output in camera.outputs:
                check_target(output)
            if here:
                with_password(camera.url, camera.password_env)
        except VidclearError as e:
            raise ConfigError(f"config {path}: camera {camera.name}: {e}") from None
