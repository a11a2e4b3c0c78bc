"""One typed configuration: defaults < YAML file < command-line flags.

Every section forbids unknown keys, so a typo in a preset is an error that
names the key instead of a setting silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PipelineConfig(Section):
    queue_size: int = Field(8, ge=1, le=1024, description="frames each queue holds between two stages")
    batch_size: int = Field(1, ge=1, le=64, description="frames the infer stage takes at once when queued")


class EncoderConfig(Section):
    codec: Literal["libx264", "libx265"] = "libx264"
    crf: int = Field(18, ge=0, le=51)
    preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
    ] = "veryfast"
    threads: int = Field(0, ge=0, description="encoder threads, 0 lets the codec choose")


class AudioConfig(Section):
    mode: Literal["auto", "copy", "aac", "off"] = Field(
        "auto", description="auto: copy when the container takes the codec, else encode AAC"
    )
    bitrate: int = Field(128_000, ge=16_000)


class Config(Section):
    model: str = "espcn-x2"
    backend: str = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_frames: Optional[int] = Field(None, ge=1)
    pipeline: PipelineConfig = PipelineConfig()
    encoder: EncoderConfig = EncoderConfig()
    audio: AudioConfig = AudioConfig()


def _describe(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{where}'"
    return f"{source}: bad value for '{where}': {first['msg']}"


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Build the config from defaults, an optional YAML file, then flag overrides.

    ``overrides`` uses dotted keys (``encoder.crf``); ``None`` values are ignored
    so that flags the user did not give leave the file's values alone.
    """
    data: dict[str, Any] = {}
    source = "config"
    if path is not None:
        p = Path(path)
        source = f"config {p}"
        try:
            text = p.read_text()
        except OSError as e:
            raise ConfigError(f"cannot read config {p}: {e.strerror or e}") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{source}: not valid YAML: {str(e).splitlines()[0]}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{source}: the top level must be a mapping of keys")
        data = loaded
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[leaf] = value
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e, source)) from None
