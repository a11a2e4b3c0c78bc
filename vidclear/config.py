"""One typed configuration: defaults < YAML file < command-line flags.

Every section forbids unknown keys, so a typo in a preset is an error that
names the key instead of a setting silently ignored.
"""

from __future__ import annotations

import difflib
import re
from inspect import isclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Optional, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from .choices import CODECS, PRESETS, DeinterlaceMode
from .errors import ConfigError
from .secrets import redact
from .steps import STEP_CONFIGS, StepConfig


CROP_PATTERN = r"^\s*\d+\s*,\s*\d+\s*,\s*[1-9]\d*\s*,\s*[1-9]\d*\s*$"  # X,Y,WIDTH,HEIGHT (io/crop.py)


def check_crop(v: Any) -> Optional[str]:
    """A region as 'X,Y,WIDTH,HEIGHT' (YAML may give the list [X, Y, WIDTH, HEIGHT])."""
    if isinstance(v, (list, tuple)):
        v = ",".join(str(p) for p in v)
    if v is not None and not (isinstance(v, str) and re.match(CROP_PATTERN, v)):
        raise ValueError("should be X,Y,WIDTH,HEIGHT in pixels, the width and height above 0 (e.g. 640,360,320,180)")
    return v


CropText = Annotated[Optional[str], BeforeValidator(check_crop)]  # io/crop.py reads it


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PipelineConfig(Section):
    queue_size: int = Field(8, ge=1, le=1024, description="frames each queue holds between two stages")
    batch_size: int = Field(1, ge=1, le=64, description="frames the infer stage takes at once when queued")
    infer_workers: Union[Literal["auto"], Annotated[int, Field(ge=1, le=16)]] = Field(
        "auto", description="inferences run at once; auto: 2 for files on a multi-core CPU, else 1"
    )


class BatchConfig(Section):
    """The inference service: frames of several streams (cameras) inferred together."""

    max_frames: int = Field(4, ge=1, le=64, description="frames one batch gathers across streams")
    max_wait_ms: float = Field(
        10.0, ge=0, le=10_000, description="longest a frame waits for a batch to fill (a lone stream never waits)"
    )


class ReuseConfig(Section):
    """Static-camera reuse: recompute only the tiles whose input changed (vidclear/engine/reuse.py)."""

    mode: Literal["off", "auto"] = Field("off", description="auto: reuse unchanged tiles (luma models)")
    tile: int = Field(24, ge=4, le=256, description="tile size in input pixels")
    threshold: float = Field(8.0, ge=0, le=255, description="a pixel of the tile or its halo moved more: recompute")
    mean_threshold: float = Field(1.0, ge=0, le=255, description="the tile's mean moved more: recompute")
    refresh_every: int = Field(100, ge=0, description="recompute every tile at least this often (frames; 0: never)")
    full_above: float = Field(0.5, gt=0, le=1, description="more of the tiles changed: process the whole frame")

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        return "off" if v is False else v


class EncoderConfig(Section):
    codec: Literal[CODECS] = Field(
        "libx264", description="auto: NVIDIA's hardware H.264 encoder when one opens here, else libx264 (logged)"
    )
    crf: int = Field(18, ge=0, le=51)
    preset: Literal[PRESETS] = "veryfast"
    threads: int = Field(0, ge=0, description="encoder threads, 0 lets the codec choose")


class AudioConfig(Section):
    mode: Literal["auto", "copy", "aac", "off"] = Field(
        "auto", description="auto: copy when the container takes the codec, else encode AAC"
    )
    bitrate: int = Field(128_000, ge=16_000)


class LiveConfig(Section):
    transport: Literal["tcp", "udp"] = "tcp"
    open_timeout: float = Field(5.0, gt=0, description="seconds to wait for a camera to answer")
    stall_timeout: float = Field(5.0, gt=0, description="no frame for this long: reconnect")
    backoff_initial: float = Field(0.5, gt=0, description="first wait before reconnecting, doubled each failure")
    backoff_max: float = Field(10.0, gt=0, description="cap of the reconnect wait")
    max_retries: Optional[int] = Field(None, ge=1, description="null: retry forever")
    queue_size: int = Field(2, ge=1, le=64, description="live queues drop the oldest frame beyond this")
    max_latency_ms: float = Field(
        2000.0, gt=0, description="a frame older than this when inference would start is dropped (stale)"
    )
    segment_seconds: float = Field(60.0, gt=0, description="length of recorded segments")
    keep_hours: Optional[float] = Field(
        None, gt=0, description="remove a segment output's recordings older than this (null: keep them)")
    keep_gb: Optional[float] = Field(
        None, gt=0, description="remove a segment output's oldest recordings beyond this many GB in all (null: no cap)")
    keep_free_gb: Optional[float] = Field(
        None, gt=0, description="while the recordings' disk has less free than this, remove their oldest (null: never)")
    password_env: Optional[str] = Field(None, description="environment variable holding the camera password")
    min_fps: float = Field(
        3.0, ge=0, description="serve refuses a camera model that infers fewer frames a second at probe_size here "
                               "(0: no check)")
    probe_size: str = Field("704x576", pattern=r"^[1-9][0-9]*x[1-9][0-9]*$",
                            description="frame size (WxH) serve times each camera model on")

    @property
    def probe_hw(self) -> tuple[int, int]:
        """``probe_size`` as (height, width), the order arrays take."""
        width, height = (int(v) for v in self.probe_size.split("x"))
        return height, width


class TensorRTConfig(Section):
    min: Optional[str] = Field(None, description="smallest frame HxW the engine accepts (default: the input's)")
    opt: Optional[str] = Field(None, description="frame HxW the engine is tuned for (default: the input's)")
    max: Optional[str] = Field(None, description="largest frame HxW the engine accepts (default: opt)")
    build: Literal["auto", "never"] = Field("auto", description="auto: (re)build when no valid engine exists")
    workspace_mb: int = Field(1024, ge=64)


class LowLightConfig(Section):
    mode: Literal["off", "on", "auto"] = Field(
        "off", description="auto: enhance only while the scene is dark (with hysteresis)"
    )
    model: str = "lowlight"
    denoise: Optional[str] = Field(
        None, description="a denoising model run after the low-light model in night mode (e.g. denoise)")
    dark_below: float = Field(45.0, ge=0, le=255, description="mean luma that switches night mode on")
    bright_above: float = Field(65.0, ge=0, le=255, description="mean luma that switches it off again")

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_booleans(cls, v: Any) -> Any:
        # YAML 1.1 reads a bare `off` / `on` as false / true.
        return {False: "off", True: "on"}.get(v, v) if isinstance(v, bool) else v

    @model_validator(mode="after")
    def _hysteresis(self) -> "LowLightConfig":
        if self.bright_above <= self.dark_below:
            raise ValueError("bright_above must be greater than dark_below (hysteresis)")
        return self


class ArchiveConfig(Section):
    """``vidclear batch``: many files with the same settings, resumable."""

    parallel: Union[Literal["auto"], Annotated[int, Field(ge=1, le=64)]] = Field(
        "auto", description="files enhanced at once on this machine; auto: one per core (at least 2)")
    retries: int = Field(2, ge=0, le=100, description="times a failed file is tried again by later runs")


class ClusterConfig(Section):
    """A Ray cluster (``pip install vidclear[cluster]``): where ``batch --ray`` runs its files."""

    address: Optional[str] = Field(None, description="ray://host:10001, host:6379, or auto (RAY_ADDRESS / local)")
    num_cpus: float = Field(1.0, gt=0, le=1024, description="CPUs one file's task asks for")
    num_gpus: float = Field(0.0, ge=0, le=64, description="GPUs one file's task asks for (fractions share one)")
    max_retries: int = Field(3, ge=0, le=100, description="times Ray runs a file again when its node dies")


class Config(Section):
    model: str = "espcn-x2"
    backend: str = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp16", "fp32"] = Field("fp16", description="on CUDA (torch and TensorRT)")
    cpu_precision: Literal["fp32", "int8"] = Field(
        "fp32", description="int8: ONNX Runtime static quantization on CPU (faster, a little less exact)"
    )
    cuda_graphs: bool = Field(True, description="torch on CUDA: replay each input shape's forward pass from a CUDA graph")
    max_frames: Optional[int] = Field(None, ge=1)
    crop: CropText = Field(None, description="X,Y,WIDTH,HEIGHT: enhance only this region of the input (pixels)")
    deinterlace: DeinterlaceMode = Field(
        "auto", description="interlaced input (analogue cameras, DVRs): auto rebuilds the frames the decoder flags "
        "as interlaced, on every frame, fields every field as a frame (twice the rate), off none (docs/live.md)"
    )
    pipeline: PipelineConfig = PipelineConfig()
    batch: BatchConfig = BatchConfig()
    reuse: ReuseConfig = ReuseConfig()
    encoder: EncoderConfig = EncoderConfig()
    audio: AudioConfig = AudioConfig()
    lowlight: LowLightConfig = LowLightConfig()
    live: LiveConfig = LiveConfig()
    tensorrt: TensorRTConfig = TensorRTConfig()
    archive: ArchiveConfig = ArchiveConfig()
    cluster: ClusterConfig = ClusterConfig()
    steps: list[StepConfig] = Field(default_factory=list, description="classical luma steps before the model")


SERVE_ONLY_KEYS = ("cameras", "metrics")  # what serve's config adds to Config (a test keeps the two equal)

_STEP_NAMES = {get_args(c.model_fields["name"].annotation)[0] for c in STEP_CONFIGS}


def _yaml_path(loc: tuple) -> tuple:
    """A pydantic error location as the YAML path, without pydantic's union tags.

    Tags are the step names of ``steps`` ('clahe' in steps.0.clahe.tiles) and the
    member names of a plain union ("literal['auto']", 'constrained-int'), which are
    never YAML keys (those are identifiers).
    """
    return tuple(p for p in loc if not (isinstance(p, str) and (not p.isidentifier()
                                                                 or (p in _STEP_NAMES and loc[0] == "steps"))))


def _members(annotation: Any) -> list[Any]:
    """The types a value of ``annotation`` may take, its Optional, Union and Annotated undone."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [m for a in get_args(annotation) for m in _members(a)]
    return [annotation]


def _tagged(kind: type[BaseModel], tag: str) -> bool:
    """Whether ``tag`` is the value of one of ``kind``'s Literal fields: the member a tagged union's error names."""
    return any(tag in get_args(f.annotation) for f in kind.model_fields.values() if get_origin(f.annotation) is Literal)


def _fields_at(model: type[BaseModel], loc: tuple) -> dict[str, FieldInfo]:
    """The fields a mapping at ``loc`` (pydantic's error location) may hold under ``model``: what a mistyped key was
    meant to be, and what a missing one is for."""
    kinds: list[Any] = [model]
    for part in loc:
        if isinstance(part, str) and not part.isidentifier():  # a plain union's member name ("literal['auto']")
            continue
        inner = []
        for kind in (m for k in kinds for m in _members(k)):
            if isclass(kind) and issubclass(kind, BaseModel) and part in kind.model_fields:
                inner.append(kind.model_fields[part].annotation)
            elif isclass(kind) and issubclass(kind, BaseModel) and isinstance(part, str) and _tagged(kind, part):
                inner.append(kind)  # steps.0.clahe: the union member whose name is clahe
            elif get_origin(kind) in (list, tuple) and isinstance(part, int):
                inner += get_args(kind)[:1]
            elif get_origin(kind) is dict:
                inner += get_args(kind)[1:]
        kinds = inner
    return {key: field for k in kinds for m in _members(k) if isclass(m) and issubclass(m, BaseModel)
            for key, field in m.model_fields.items()}


def _describe(err: ValidationError, source: str, model: type[BaseModel], flags: dict[str, str]) -> str:
    """The first error as one line, a mistyped key before the "Field required" it causes; a union's members are
    joined ("'auto' or greater than or equal to 1"). A value a flag gave is charged to the flag (``flags``: dotted
    key -> flag)."""
    errors = sorted(err.errors(), key=lambda e: (e["type"] != "extra_forbidden", e["loc"] != ("cameras",)))
    first = errors[0]
    loc = _yaml_path(first["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden" and loc[0] in SERVE_ONLY_KEYS and len(loc) == 1:
        return (f"{source}: unknown key '{where}' here: it is a key of serve's configs "
                "(run this file with 'vidclear serve')")
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):  # a step: its name says which kind it is
        key = first["ctx"]["discriminator"].strip("'")
        steps = ", ".join(sorted(_STEP_NAMES))
        if first["type"] == "union_tag_not_found":
            return f"{source}: missing key '{where}.{key}' (the step: one of {steps})"
        tag = str(first["ctx"]["tag"])
        close = difflib.get_close_matches(tag, sorted(_STEP_NAMES), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; the steps are {steps}"
        return f"{source}: unknown step '{tag}' at '{where}.{key}'{hint}"
    if first["type"] == "missing":
        field = _fields_at(model, first["loc"][:-1]).get(str(loc[-1]))
        return f"{source}: missing key '{where}'" + (f" ({field.description})" if field and field.description else "")
    if first["type"] == "extra_forbidden":
        keys = sorted(_fields_at(model, first["loc"][:-1]))
        close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; the keys here are {', '.join(keys)}" if keys else ""
        return f"{source}: unknown key '{where}'{hint}"
    messages = [first["msg"].removeprefix("Value error, ")]  # a validator's own words
    if len(first["loc"]) > len(loc):  # a union: say what each of its members wanted
        messages += [e["msg"] for e in errors[1:] if _yaml_path(e["loc"]) == loc and e["msg"] not in messages]
    wanted = " or ".join([messages[0]] + [m.removeprefix("Input should be ") for m in messages[1:]])
    if where in flags:
        value = first["input"]
        return f"argument {flags[where]}: {wanted}, not {repr(value) if isinstance(value, str) else value}"
    return f"{source}: bad value for '{where}': {wanted}"


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping (``yaml.safe_load``); every config file is read here."""
    p = Path(path)
    try:
        data = p.read_bytes()  # YAML says how it is encoded (UTF-8, or UTF-16 with a BOM), not the locale
    except OSError as e:
        raise ConfigError(f"cannot read config {p}: {e.strerror or e}") from None
    try:
        loaded = yaml.safe_load(data)
    except yaml.reader.ReaderError as e:  # bytes that are no text: an image, an archive, a wrong encoding
        raise ConfigError(f"config {p}: not a YAML text file (UTF-8): {str(e).splitlines()[0]}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config {p}: not valid YAML: {str(e).splitlines()[0]}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config {p}: the top level must be a mapping of keys")
    return loaded


C = TypeVar("C", bound=Config)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                model: type[C] = Config, flags: dict[str, str] | None = None) -> C:  # type: ignore[assignment]
    """Build the config from defaults, an optional YAML file, then flag overrides.

    ``overrides`` uses dotted keys (``encoder.crf``); ``None`` values are ignored
    so that flags the user did not give leave the file's values alone. ``model``
    is the schema (``Config``, or a command's extension of it such as serve's);
    ``flags`` names the flag each override came from, for the error a bad one gives.
    """
    data: dict[str, Any] = {}
    source = "config"
    if path is not None:
        data = read_yaml_mapping(path)
        source = f"config {Path(path)}"
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
        return model.model_validate(data)
    except ValidationError as e:
        given = {key: flag for key, flag in (flags or {}).items() if (overrides or {}).get(key) is not None}
        raise ConfigError(redact(_describe(e, source, model, given))) from None
