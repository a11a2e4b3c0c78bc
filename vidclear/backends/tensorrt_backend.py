"""TensorRT backend: engines built from our ONNX exports, run with torch CUDA buffers.

Imports TensorRT lazily: everything loads on a machine without it, and
``--backend tensorrt`` there fails with one line saying what is missing.
Runtime: the named-tensor API, ``set_input_shape`` checked against the
profile, torch CUDA tensors as I/O buffers, ``execute_async_v3`` on torch's
current stream; no pycuda (NVIDIA/TensorRT#4608).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import VidclearError
from ..evaluation.metrics import psnr
from ..export import tensorrt_build as tb
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions

log = logging.getLogger(__name__)

MIN_ENGINE_PSNR_DB = 45.0  # engine vs fp32 PyTorch on a real frame, checked after every build


def _tensorrt_problem() -> Optional[str]:
    try:
        import tensorrt
    except ImportError as e:
        return (
            f"TensorRT is not installed ({e}); install the 'tensorrt' extra where NVIDIA's wheels are reachable, "
            "or use the system TensorRT on Jetson (see docs/jetson.md)"
        )
    except OSError as e:  # bindings present, libraries missing
        return f"TensorRT's libraries failed to load ({e})"
    return tb.tensorrt_version_problem(str(getattr(tensorrt, "__version__", "?")))


def torch_dtype(trt, torch, trt_dtype):  # noqa: ANN001, ANN201 - the tensorrt and torch modules, a trt.DataType
    """The torch dtype of an engine I/O tensor (read from the engine, not assumed float32)."""
    table = {"FLOAT": torch.float32, "HALF": torch.float16, "BF16": torch.bfloat16, "INT8": torch.int8,
             "INT32": torch.int32, "UINT8": torch.uint8, "BOOL": torch.bool}
    for name, dtype in table.items():
        if getattr(trt.DataType, name, None) == trt_dtype:
            return dtype
    raise VidclearError(f"TensorRT engine tensor of type {trt_dtype} is not supported")


class TensorRTBackend(Backend):
    name = "tensorrt"
    devices = ("cuda",)

    @classmethod
    def unavailable_reason(cls, device: str) -> str | None:
        missing = _tensorrt_problem()
        if missing:
            return missing
        if device != "cuda":
            return "TensorRT runs on CUDA devices only"
        import torch

        if not torch.cuda.is_available():
            return "torch reports no CUDA device (TensorRT buffers are torch CUDA tensors)"
        return None

    @classmethod
    def version(cls) -> str | None:
        try:
            import tensorrt as trt
        except (ImportError, OSError):
            return None
        return str(getattr(trt, "__version__", "?"))  # also a version too old to use: the table says why

    def __init__(self, spec: ModelSpec, device: str, options: Optional[BackendOptions] = None) -> None:
        super().__init__(spec, device, options)
        import tensorrt as trt
        import torch

        from ..export.onnx_export import engines_dir, ensure_onnx

        cfg = self.options.tensorrt
        self.precision: tb.Precision = self.options.precision  # type: ignore[assignment]
        self.onnx_path = ensure_onnx(spec, self.precision)
        self.profile = tb.make_profile(
            spec.input_channels,
            self.options.frame_hw,
            tb.parse_hw(cfg.min) if cfg.min else None,
            tb.parse_hw(cfg.opt) if cfg.opt else None,
            tb.parse_hw(cfg.max) if cfg.max else None,
            batch=self.options.batch_size,
        )
        env = tb.trt_environment()
        folder = engines_dir()
        onnx_sha = tb.file_sha256(self.onnx_path)
        self.engine_path = tb.engine_path(folder, spec.name, self.precision, onnx_sha, self.profile)
        decision = tb.decide(self.engine_path, env, onnx_sha, self.precision, self.profile, cfg.build == "auto")
        new_sidecar: Optional[tb.Sidecar] = None
        if decision.action == "build":
            log.info("building TensorRT engine %s: %s", self.engine_path.name, decision.reason)
            new_sidecar = self._build(folder, env)
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self.runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        if self.engine is None:
            if cfg.build != "auto":
                raise VidclearError(f"TensorRT could not deserialise {self.engine_path.name} and building is disabled")
            log.warning("TensorRT could not deserialise %s: rebuilding it", self.engine_path.name)
            new_sidecar = self._build(folder, env)
            self.engine = self.runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
            if self.engine is None:
                self._discard()
                raise VidclearError(f"TensorRT could not deserialise the engine it just built ({self.engine_path})")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self.input_dtype = torch_dtype(trt, torch, self.engine.get_tensor_dtype(self.input_name))
        self.output_dtype = torch_dtype(trt, torch, self.engine.get_tensor_dtype(self.output_name))
        self.torch = torch
        self.cuda = torch.device("cuda")
        # enqueueV3 on the default stream adds device-wide synchronisations: one stream of our own
        self.stream = self._new_stream()
        self.bound: dict = {}  # the tensors whose addresses the context holds (kept alive while it runs)
        if new_sidecar is not None:
            # every new engine, also one rebuilt after a failed deserialisation, is checked before its
            # sidecar is written: without a sidecar the next start rebuilds instead of trusting it
            try:
                self._verify_against_pytorch()
            except BaseException:
                self._discard()
                raise
            new_sidecar.save(tb.sidecar_path(self.engine_path))

    def _new_stream(self):  # noqa: ANN202 - a torch.cuda.Stream
        return self.torch.cuda.Stream()

    def _discard(self) -> None:
        for p in (self.engine_path, tb.sidecar_path(self.engine_path)):
            p.unlink(missing_ok=True)

    def _build(self, folder: Path, env: tb.Environment) -> tb.Sidecar:
        tb.sidecar_path(self.engine_path).unlink(missing_ok=True)  # no sidecar until the new engine is checked
        return tb.build_engine(
            self.onnx_path,
            self.engine_path,
            self.profile,
            self.precision,
            tb.timing_cache_path(folder, env),
            self.options.tensorrt.workspace_mb,
        )

    def _verify_against_pytorch(self) -> None:
        """Refuse an engine whose output differs from fp32 PyTorch (fp16 NaN / black frames).

        The check input has the profile's opt size exactly (a real image resized to it)."""
        import torch

        from ..export.onnx_export import sample_input

        _, c, h, w = self.profile.opt
        x = sample_input(c, h, w)
        with torch.no_grad():
            ref = self.spec.load()(torch.from_numpy(x)).numpy()
        out = self.infer(x)
        score = psnr(np.clip(out, 0, 1) * 255, np.clip(ref, 0, 1) * 255) if np.isfinite(out).all() else float("-inf")
        if score < MIN_ENGINE_PSNR_DB:
            raise VidclearError(
                f"TensorRT engine for '{self.spec.name}' ({self.precision}) gives {score:.1f} dB against fp32 PyTorch "
                f"(< {MIN_ENGINE_PSNR_DB} dB): refused and deleted; try --precision fp32"
            )
        log.info("TensorRT engine checked against fp32 PyTorch: %.1f dB", score)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        tb.check_input_shape(self.profile, tuple(batch.shape))
        with torch.cuda.stream(self.stream):
            x = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.cuda, non_blocking=True)
            x = x.to(self.input_dtype)
            if not self.context.set_input_shape(self.input_name, tuple(x.shape)):
                raise VidclearError(f"TensorRT rejected input shape {tuple(x.shape)} ({self.profile.describe_range()})")
            out = torch.empty(tuple(self.context.get_tensor_shape(self.output_name)), dtype=self.output_dtype,
                              device=self.cuda)
            self.bound = {self.input_name: x, self.output_name: out}
            for name, tensor in self.bound.items():
                self.context.set_tensor_address(name, tensor.data_ptr())
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise VidclearError("TensorRT execution failed")
            host = out.float().to("cpu", non_blocking=True)
        self.stream.synchronize()
        return host.numpy()

    def describe(self) -> dict:
        info = super().describe()
        info.update(version=self.version(), engine=str(self.engine_path), precision=self.precision)
        return info
