"""Export a registered model to one self-contained ONNX file and prove it matches PyTorch.

Dynamic batch, height and width; opset 17; the legacy TorchScript exporter,
which writes a single small file (the dynamo exporter splits weights out).
fp16 exports keep fp32 inputs and outputs, so callers never change, and TensorRT
11 (strongly typed: no FP16 builder flag) gets its fp16 from the file itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Literal, Optional

import numpy as np

from ..errors import VidclearError
from ..evaluation.metrics import psnr
from ..models.registry import ModelSpec
from ..shared_data import SHARED_DATA
from .files import write_atomically, written_whole

log = logging.getLogger(__name__)

Precision = Literal["fp32", "fp16", "int8"]
OPSET = 17
PARITY_TOL = {"fp32": 1e-4, "fp16": 2e-2}  # max abs difference from PyTorch fp32
INT8_MIN_PSNR = 38.0  # dB against PyTorch fp32 on the same image
ORT_DEFAULT_SEVERITY = 2  # ONNX Runtime's own default: warnings and worse


class Int8Unavailable(VidclearError):
    """No INT8 export of this model here: it strays too far from the fp32 output (the low-light network does),
    or the training images it is calibrated on are not beside the repository."""


class Int8Spoils(Int8Unavailable):
    """INT8 measured too far from fp32: a verdict on these weights, kept beside the cache so that no later run
    spends the quantization (seconds at every start) to learn it again."""


def engines_dir() -> Path:
    """Where exports and engines go: $VIDCLEAR_ENGINES, else the repo's engines/, else a user cache."""
    env = os.environ.get("VIDCLEAR_ENGINES")
    if env:
        return Path(env)
    repo_engines = Path(__file__).resolve().parents[2] / "engines"
    if repo_engines.is_dir() and os.access(repo_engines, os.W_OK):
        return repo_engines
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vidclear" / "engines"


def weights_digest(spec: ModelSpec) -> str:
    path = spec.weights_path
    if path is None:
        return hashlib.sha256(spec.name.encode()).hexdigest()[:10]
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def default_onnx_path(spec: ModelSpec, precision: Precision) -> Path:
    return engines_dir() / f"{spec.name}-{precision}-{weights_digest(spec)}.onnx"


def sample_input(channels: int = 1, height: int = 64, width: int = 80) -> np.ndarray:
    """(1, channels, H, W): a real image (luma, or darkened RGB; 6 channels: that RGB twice, the
    previous frame of a still scene) when the shared data is present, else a textured pattern."""
    set5 = SHARED_DATA / "sr" / "set5" / "butterfly.png"
    if set5.exists():
        import cv2

        img = cv2.imread(str(set5), cv2.IMREAD_COLOR)[:, :, ::-1]
        if img.shape[0] < height or img.shape[1] < width:  # a check at 720x1280 gets 720x1280, not a crop
            size = (max(width, img.shape[1]), max(height, img.shape[0]))
            img = cv2.resize(np.ascontiguousarray(img), size, interpolation=cv2.INTER_CUBIC)
        img = img[:height, :width].astype(np.float32) / 255
    else:
        yy, xx = np.mgrid[0:height, 0:width]
        base = (np.sin(xx / 3.0) * np.cos(yy / 5.0) + 1) / 2
        img = np.dstack([base, base**2, 1 - base]).astype(np.float32)
    if channels == 1:
        return img.mean(axis=2)[None, None].astype(np.float32)
    rgb = (img * 0.1).transpose(2, 0, 1)
    return np.ascontiguousarray(np.tile(rgb, (channels // 3, 1, 1))[None])  # a two-frame model: a still scene


def export_onnx(spec: ModelSpec, path: Optional[Path] = None, precision: Precision = "fp32") -> Path:
    """Write, check and verify the ONNX file; returns its path."""
    import onnx
    import torch

    path = Path(path) if path else default_onnx_path(spec, precision)
    if precision == "int8":
        return quantize_int8(spec, ensure_onnx(spec, "fp32"), path)
    model = spec.load()

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module, half: bool) -> None:
            super().__init__()
            self.inner = inner.half() if half else inner
            self.half = half

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x.half()).float() if self.half else self.inner(x)

    wrapped = Wrapped(model, precision == "fp16").eval()
    example = torch.from_numpy(sample_input(spec.input_channels, 32, 40))
    with written_whole(path, ".onnx") as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shape arithmetic and constant folding
            torch.onnx.export(
                wrapped,
                (example,),
                str(tmp),
                input_names=["input"],
                output_names=["output"],
                opset_version=OPSET,
                dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "oheight", 3: "owidth"}},
                dynamo=False,
            )
        onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
        err = parity_error(spec, tmp)
        if err > PARITY_TOL[precision]:
            raise VidclearError(f"ONNX export of '{spec.name}' differs from PyTorch by {err:.2e} (> {PARITY_TOL[precision]})")
    log.info("exported %s (%s) to %s: max abs diff vs PyTorch fp32 %.2e", spec.name, precision, path, err)
    return path


def _outputs(spec: ModelSpec, onnx_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ONNX Runtime output, PyTorch fp32 output) on a real image."""
    import onnxruntime as ort
    import torch

    x = sample_input(spec.input_channels)
    with torch.no_grad():
        ref = spec.load()(torch.from_numpy(x)).numpy()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3  # not the constants the optimiser drops from a quantized graph (on stderr)
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0], ref


def parity_error(spec: ModelSpec, onnx_path: Path) -> float:
    """Max abs difference between ONNX Runtime and PyTorch fp32 on a real image."""
    out, ref = _outputs(spec, onnx_path)
    return float(np.abs(out - ref).max())


def parity_psnr(spec: ModelSpec, onnx_path: Path) -> float:
    """PSNR (dB, peak 1) of the ONNX Runtime output against PyTorch fp32 on a real image.

    The INT8 check uses it: a quantized model's worst single pixel moves with the
    calibration's rounding (espcn-x2's passed a 0.06 bound before and came out at 0.112
    on 2026-11-27, at 42.2 dB), while a broken quantization costs the whole image.
    """
    out, ref = _outputs(spec, onnx_path)
    return psnr(out, ref, peak=1.0)


def ensure_onnx(spec: ModelSpec, precision: Precision = "fp32") -> Path:
    """The cached export for these weights, made on first use; an INT8 export that failed its check stays refused
    (its verdict file is named after the weights, so new weights are measured afresh)."""
    path = default_onnx_path(spec, precision)
    verdict = path.with_suffix(".refused")
    if verdict.exists():
        raise Int8Spoils(verdict.read_text().strip())
    if not path.exists():
        try:
            export_onnx(spec, path, precision)
        except Int8Spoils as e:
            write_atomically(verdict, f"{e}\n".encode())
            raise
    return path


def calibration_batches(spec: ModelSpec, count: int = 24, size: int = 96, seed: int = 0) -> list[np.ndarray]:
    """Random crops of the training images (never the evaluation sets), as the model sees them."""
    import cv2

    from ..evaluation.metrics import rgb_to_y
    from ..evaluation.sr import list_images

    train = SHARED_DATA / "sr" / "train_t91"
    if not train.is_dir():
        raise Int8Unavailable(f"INT8 calibration needs the training images in {train}")
    rng = np.random.default_rng(seed)
    paths = list_images(train)
    batches = []
    for i in range(count):
        img = cv2.imread(str(paths[int(rng.integers(len(paths)))]), cv2.IMREAD_COLOR)[..., ::-1]
        y = int(rng.integers(0, max(1, img.shape[0] - size)))
        x = int(rng.integers(0, max(1, img.shape[1] - size)))
        crop = img[y : y + size, x : x + size]
        if spec.channels == 1:
            batches.append((rgb_to_y(crop) / 255)[None, None].astype(np.float32))
        else:  # a two-frame model calibrates on still images: the previous frame is the frame itself
            rgb = crop.astype(np.float32).transpose(2, 0, 1) / 255
            batches.append(np.ascontiguousarray(np.tile(rgb, (spec.frames, 1, 1))[None]))
    return batches


def quantize_int8(spec: ModelSpec, fp32_path: Path, path: Path) -> Path:
    """Static INT8 (QDQ: uint8 activations, int8 per-channel weights), calibrated on training crops."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(calibration_batches(spec))

        def get_next(self):  # noqa: ANN201
            batch = next(self.items, None)
            return None if batch is None else {"input": batch}

    # Keep the output end in float: the fixed bicubic branch, the residual add, the
    # pixel shuffle and the last learned conv. Quantizing them cost 0.25 dB on Set5
    # x2; with them in float and percentile calibration the cost is under 0.1 dB.
    nodes = onnx.load(str(fp32_path)).graph.node
    convs = [n.name for n in nodes if n.op_type == "Conv" and "bicubic" not in n.name]
    exclude = [n.name for n in nodes if "bicubic" in n.name or n.op_type in ("Add", "DepthToSpace")] + convs[-1:]
    with written_whole(path, ".onnx") as tmp:
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantizer warns on the root logger about optional pre-processing
        ort.set_default_logger_severity(3)  # and its calibration session, on stderr, about constants it drops
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # it also prints calibration progress
                quantize_static(
                    str(fp32_path),
                    str(tmp),
                    Reader(),
                    quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    nodes_to_exclude=exclude,
                    calibrate_method=CalibrationMethod.Percentile,
                )
        finally:
            root.setLevel(level)
            ort.set_default_logger_severity(ORT_DEFAULT_SEVERITY)
        db = parity_psnr(spec, tmp)
        if db < INT8_MIN_PSNR:
            raise Int8Spoils(f"INT8 does not suit '{spec.name}': its output is {db:.1f} dB PSNR from the "
                             f"fp32 model's ({INT8_MIN_PSNR} dB needed)")
    log.info("quantized %s to INT8 at %s: %.1f dB PSNR against PyTorch fp32", spec.name, path, db)
    return path
