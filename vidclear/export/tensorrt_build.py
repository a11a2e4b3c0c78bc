"""TensorRT engines: where they live, when to rebuild them, and how to build them.

An engine runs only on the TensorRT version and GPU model that built it. Every
engine therefore has a JSON sidecar (TensorRT version, GPU, compute capability,
ONNX sha256, precision, shape profile, build date); a mismatch, or a failed
deserialisation, triggers a logged rebuild, or a clear error when building is
disabled. Everything here but ``build_engine`` is plain Python and unit-tested;
``build_engine`` follows the TensorRT 10.x/11.x API (docs/performance.md, TensorRT):
no EXPLICIT_BATCH, no FP16 flag on 11 (fp16 comes from the fp16 ONNX file).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

from ..errors import VidclearError
from .files import write_atomically

log = logging.getLogger(__name__)

Precision = Literal["fp16", "fp32"]
Shape = tuple[int, int, int, int]  # N, C, H, W


def parse_hw(text: str) -> tuple[int, int]:
    """'720x1280' (height x width) -> (720, 1280)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise VidclearError(f"size '{text}' is not HEIGHTxWIDTH (e.g. 480x640)")
    h, w = int(m.group(1)), int(m.group(2))
    if h < 1 or w < 1:
        raise VidclearError(f"size '{text}' must be positive")
    return h, w


@dataclass(frozen=True)
class Profile:
    """One TensorRT optimisation profile for the model's input tensor."""

    min: Shape
    opt: Shape
    max: Shape

    def __post_init__(self) -> None:
        for i, axis in enumerate("NCHW"):
            if not self.min[i] <= self.opt[i] <= self.max[i]:
                raise VidclearError(
                    f"profile {axis} must satisfy min <= opt <= max, got {self.min[i]}, {self.opt[i]}, {self.max[i]}"
                )

    def contains(self, shape: Shape) -> bool:
        return all(lo <= s <= hi for lo, s, hi in zip(self.min, shape, self.max))

    def describe_range(self) -> str:
        return (
            f"batch {self.min[0]}-{self.max[0]}, height {self.min[2]}-{self.max[2]}, "
            f"width {self.min[3]}-{self.max[3]}"
        )

    def tag(self) -> str:
        return f"b{self.max[0]}-{self.min[2]}x{self.min[3]}-{self.opt[2]}x{self.opt[3]}-{self.max[2]}x{self.max[3]}"

    def as_json(self) -> dict:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}


def make_profile(
    channels: int,
    frame_hw: Optional[tuple[int, int]] = None,
    min_hw: Optional[tuple[int, int]] = None,
    opt_hw: Optional[tuple[int, int]] = None,
    max_hw: Optional[tuple[int, int]] = None,
    batch: int = 1,
) -> Profile:
    """A profile from configured sizes; missing ones come from the frame size.

    With only a frame size the engine is built for exactly that size (fastest).
    Sizes are taken as asked, never rounded: frames reach the engine at their own
    size (a model that needs a multiple, such as the low-light U-Net, pads inside
    its own graph), so a profile built for width 854 must accept 854.
    """
    if opt_hw is None and frame_hw is None:
        raise VidclearError("a TensorRT profile needs the frame size or tensorrt.opt")
    opt_hw = opt_hw or frame_hw
    max_hw = max_hw or opt_hw
    min_hw = min_hw or opt_hw
    return Profile(
        (1, channels, *min_hw),
        (batch, channels, *opt_hw),
        (batch, channels, *max_hw),
    )


@dataclass
class Sidecar:
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    onnx_sha256: str
    precision: str
    profile: dict
    built_at: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    sm_count: int = 0  # Jetson Orin modules all report "Orin", sm 8.7: the SM count and
    module: str = ""  # the device-tree model tell them apart (0 / "": an older sidecar)

    def save(self, path: Path) -> None:
        write_atomically(path, json.dumps(asdict(self), indent=2).encode())

    @classmethod
    def load(cls, path: Path) -> Optional["Sidecar"]:
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Environment:
    """What the running machine offers; compared with an engine's sidecar."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    sm_count: int = 0
    module: str = ""  # the board, on a Jetson (jetson_module()); "" elsewhere


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def engine_path(engines_dir: Path, model: str, precision: str, onnx_sha: str, profile: Profile) -> Path:
    """One engine per model, precision, ONNX content and profile; the GPU and version live in the sidecar."""
    return engines_dir / f"{model}-{precision}-{onnx_sha[:10]}-{profile.tag()}.engine"


def sidecar_path(engine: Path) -> Path:
    return engine.with_suffix(".json")


def describe_gpu(name: str, capability: str, sm_count: int, module: str) -> str:
    text = f"{name} (sm {capability}" + (f", {sm_count} SMs" if sm_count else "") + ")"
    return f"{text} on {module}" if module else text


def mismatches(sidecar: Sidecar, env: Environment, onnx_sha: str, precision: str, profile: Profile) -> list[str]:
    """Why an engine cannot be used here (empty when it can)."""
    why = []
    if sidecar.tensorrt_version != env.tensorrt_version:
        why.append(f"built with TensorRT {sidecar.tensorrt_version}, this is {env.tensorrt_version}")
    if (sidecar.gpu_name, sidecar.compute_capability, sidecar.sm_count, sidecar.module) != (
            env.gpu_name, env.compute_capability, env.sm_count, env.module):
        why.append(
            f"built on {describe_gpu(sidecar.gpu_name, sidecar.compute_capability, sidecar.sm_count, sidecar.module)}, "
            f"this is {describe_gpu(env.gpu_name, env.compute_capability, env.sm_count, env.module)}"
        )
    if sidecar.onnx_sha256 != onnx_sha:
        why.append("the ONNX file changed (new weights or export)")
    if sidecar.precision != precision:
        why.append(f"built for {sidecar.precision}, {precision} asked")
    if sidecar.profile != profile.as_json():
        why.append("built for another shape profile")
    return why


@dataclass(frozen=True)
class Decision:
    action: Literal["load", "build"]
    reason: str


def decide(engine: Path, env: Environment, onnx_sha: str, precision: str, profile: Profile, allow_build: bool) -> Decision:
    """Load an existing engine, or (re)build it; raise when a build is needed but disabled."""
    if not engine.exists():
        reason = "no engine yet"
    else:
        sidecar = Sidecar.load(sidecar_path(engine))
        if sidecar is None:
            reason = "its sidecar is missing or unreadable"
        else:
            why = mismatches(sidecar, env, onnx_sha, precision, profile)
            if not why:
                return Decision("load", "sidecar matches this machine")
            reason = "; ".join(why)
    if not allow_build:
        raise VidclearError(
            f"TensorRT engine {engine.name} cannot be used ({reason}) and building is disabled "
            "(tensorrt.build: never); run `vidclear build-engine` on this machine"
        )
    return Decision("build", reason)


def check_input_shape(profile: Profile, shape: Shape) -> None:
    if not profile.contains(shape):
        raise VidclearError(
            f"input shape {tuple(shape)} is outside the engine's profile ({profile.describe_range()}); "
            "rebuild with a wider --min/--max"
        )


# --- TensorRT itself (needs `import tensorrt`) ----------------------------------------


MIN_TENSORRT_MAJOR = 10  # 8.x (JetPack 5, JetPack 6.0) builds implicit-batch networks from create_network(0)


def tensorrt_version_problem(version: str) -> Optional[str]:
    """Why this TensorRT cannot be used (None when it can): the code is written to the 10.x/11.x APIs."""
    try:
        major = int(version.split(".")[0])
    except ValueError:
        return f"TensorRT reports an unreadable version {version!r}"
    if major < MIN_TENSORRT_MAJOR:
        return (f"TensorRT {version} is too old: vidclear needs TensorRT 10 or 11 (JetPack 6.1 or later ships 10.3; "
                "see docs/jetson.md)")
    return None


JETSON_MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))


def jetson_module(model_files: tuple[Path, ...] = JETSON_MODEL_FILES) -> str:
    """The board's name on a Jetson ("NVIDIA Jetson Orin Nano Developer Kit"), else "".

    AGX Orin, Orin NX and Orin Nano all report the GPU name "Orin" and compute
    capability 8.7; the device tree names the module.
    """
    for path in model_files:
        try:
            text = path.read_bytes().decode(errors="replace").strip("\x00 \n")
        except OSError:
            continue
        if "jetson" in text.lower():
            return text
    return ""


def trt_environment() -> Environment:
    import tensorrt as trt
    import torch

    major, minor = torch.cuda.get_device_capability()
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    return Environment(trt.__version__, torch.cuda.get_device_name(), f"{major}.{minor}",
                       props.multi_processor_count, jetson_module())


def trt_major() -> int:
    import tensorrt as trt

    return int(trt.__version__.split(".")[0])


def attach_timing_cache(config, cache_bytes: bytes) -> None:  # noqa: ANN001 - a trt.IBuilderConfig
    """Give the builder the saved timing cache; one from another TensorRT or GPU is refused
    (``set_timing_cache`` returns False) and replaced by an empty one, with a log line."""
    if config.set_timing_cache(config.create_timing_cache(cache_bytes), ignore_mismatch=False):
        return
    log.warning("the TensorRT timing cache does not match this TensorRT version or GPU: starting a new one")
    if not config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False):
        raise VidclearError("TensorRT refused an empty timing cache")


def build_engine(
    onnx_path: Path,
    engine: Path,
    profile: Profile,
    precision: Precision,
    timing_cache: Optional[Path] = None,
    workspace_mb: int = 1024,
) -> Sidecar:
    """Parse the ONNX file, build with one profile, write the engine; return its sidecar, which
    the caller saves only once the new engine has passed its check (no sidecar: not trusted)."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if precision == "fp16" and trt_major() >= 11:
        # 11.x networks are strongly typed: fp16 comes from the fp16 ONNX file.
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise VidclearError(f"TensorRT could not parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if precision == "fp16" and trt_major() < 11:
        config.set_flag(trt.BuilderFlag.FP16)
    tf32 = getattr(trt.BuilderFlag, "TF32", None)
    if precision == "fp32" and tf32 is not None:
        config.clear_flag(tf32)  # on by default: an "fp32" engine would run its convolutions in TF32 on Ampere+
    opt_profile = builder.create_optimization_profile()
    opt_profile.set_shape(network.get_input(0).name, profile.min, profile.opt, profile.max)
    config.add_optimization_profile(opt_profile)
    attach_timing_cache(config, timing_cache.read_bytes() if timing_cache and timing_cache.exists() else b"")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise VidclearError(f"TensorRT failed to build an engine from {onnx_path.name} (see the log above)")
    write_atomically(engine, bytes(serialized))
    if timing_cache is not None:
        write_atomically(timing_cache, bytes(config.get_timing_cache().serialize()))
    env = trt_environment()
    log.info("built TensorRT engine %s (%s, %s)", engine.name, precision, profile.describe_range())
    return Sidecar(
        tensorrt_version=env.tensorrt_version,
        gpu_name=env.gpu_name,
        compute_capability=env.compute_capability,
        onnx_sha256=file_sha256(onnx_path),
        precision=precision,
        profile=profile.as_json(),
        sm_count=env.sm_count,
        module=env.module,
    )


def timing_cache_path(engines_dir: Path, env: Environment) -> Path:
    """A timing cache is version- and GPU-specific: key it by both."""
    gpu = re.sub(r"[^A-Za-z0-9]+", "-", env.gpu_name).strip("-").lower()
    return engines_dir / f"timing-trt{env.tensorrt_version}-{gpu}.cache"
