"""ONNX Runtime backend: the fastest CPU path (3.6x PyTorch eager for ESPCN), CUDA with onnxruntime-gpu."""

from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from ..models.registry import ModelSpec
from .base import Backend, BackendOptions

log = logging.getLogger(__name__)


def _providers() -> list[str]:
    import onnxruntime as ort

    return ort.get_available_providers()


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    @classmethod
    def unavailable_reason(cls, device: str) -> str | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as e:
            return f"onnxruntime is not installed ({e})"
        if device == "cuda" and "CUDAExecutionProvider" not in _providers():
            return "onnxruntime has no CUDA execution provider (install onnxruntime-gpu)"
        return None

    @classmethod
    def version(cls) -> str | None:
        try:
            import onnxruntime as ort
        except ImportError:
            return None
        return ort.__version__

    def __init__(self, spec: ModelSpec, device: str, options: Optional[BackendOptions] = None) -> None:
        super().__init__(spec, device, options)
        import onnxruntime as ort

        from ..export.onnx_export import Int8Unavailable, ensure_onnx

        self.precision = self.options.cpu_precision if device == "cpu" else "fp32"
        try:
            self.onnx_path = ensure_onnx(spec, self.precision)  # type: ignore[arg-type]
        except Int8Unavailable as e:  # cpu_precision applies to every model of a run: INT8 is used where it can be
            log.warning("%s; running '%s' at fp32", e, spec.name)
            self.precision = "fp32"
            self.onnx_path = ensure_onnx(spec, "fp32")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = self.options.cpu_threads
        # Spinning threads steal the cores x264 and the other stages need (docs/performance.md, CPU inference).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(str(self.onnx_path), opts, providers=providers)
        self.input_name = self.session.get_inputs()[0].name

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, np.float32)})[0]

    def describe(self) -> dict:
        info = super().describe()
        info.update(version=self.version(), onnx=str(self.onnx_path), precision=self.precision)
        return info
