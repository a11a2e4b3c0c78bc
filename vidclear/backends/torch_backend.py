"""PyTorch backend: runs everywhere (CPU, and CUDA when present); the fallback of --backend auto.

On CUDA it takes the fast path: fp16 weights and activations, channels_last,
a pinned host buffer per input shape so the upload is an async DMA, and the
download into pinned memory too. fp16 is checked against fp32 on a real frame
when the backend loads and refused below 45 dB (fp16 NaN / black frames).
"""

from __future__ import annotations

import logging
from typing import Optional

import numpy as np
import torch

from ..errors import VidclearError
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions

log = logging.getLogger(__name__)

MIN_FP16_PSNR_DB = 45.0


def to_uint8(y: torch.Tensor) -> torch.Tensor:
    """Model output in [0, 1] -> rounded, saturated uint8 (as frame.float_to_luma does on the host)."""
    return (y.float() * 255).round_().clamp_(0, 255).to(torch.uint8)


class TorchBackend(Backend):
    name = "torch"
    native_uint8 = True  # takes uint8 luma and returns uint8, converting on the device

    @classmethod
    def unavailable_reason(cls, device: str) -> str | None:
        if device == "cuda" and not torch.cuda.is_available():
            return "torch reports no CUDA device"
        return None

    @classmethod
    def version(cls) -> str | None:
        return torch.__version__

    def __init__(self, spec: ModelSpec, device: str, options: Optional[BackendOptions] = None) -> None:
        super().__init__(spec, device, options)
        if device == "cpu":
            torch.set_num_threads(self.options.cpu_threads)
        self.torch_device = torch.device(device)
        self.half = device == "cuda" and self.options.precision == "fp16"
        model = spec.load().to(self.torch_device, memory_format=torch.channels_last)
        self.model = model.half() if self.half else model
        self._pinned_in: dict[tuple, torch.Tensor] = {}
        self._pinned_out: dict[tuple, torch.Tensor] = {}
        self.cuda_graphs = device == "cuda" and self.options.cuda_graphs
        self._graphs: dict[tuple, tuple] = {}
        if self.half:
            self._check_fp16(spec)

    def _check_fp16(self, spec: ModelSpec) -> None:
        from ..evaluation.metrics import psnr
        from ..export.onnx_export import sample_input

        x = sample_input(spec.input_channels, 96, 128)
        with torch.inference_mode():
            ref = spec.load().to(self.torch_device)(torch.from_numpy(x).to(self.torch_device)).float().cpu().numpy()
        out = self.infer(x)
        score = psnr(np.clip(out, 0, 1) * 255, np.clip(ref, 0, 1) * 255) if np.isfinite(out).all() else float("-inf")
        if score < MIN_FP16_PSNR_DB:
            raise VidclearError(
                f"fp16 output of '{spec.name}' is {score:.1f} dB from fp32 (< {MIN_FP16_PSNR_DB}); "
                "set precision: fp32"
            )
        log.info("torch CUDA fp16 checked against fp32: %.1f dB", score)

    def _pinned(self, cache: dict, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
        buf = cache.get((shape, dtype))
        if buf is None:
            buf = torch.empty(shape, dtype=dtype, pin_memory=True)
            cache[(shape, dtype)] = buf
        return buf

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """float32 in [0, 1] -> float32; uint8 luma (0-255) -> uint8, the conversions done on the device
        (on a GPU only 8-bit planes cross the bus: a quarter of the bytes)."""
        u8 = batch.dtype == np.uint8
        if self.device == "cpu":
            x = torch.from_numpy(batch)
            x = (x.float() / 255 if u8 else x).contiguous(memory_format=torch.channels_last)
            y = self.model(x)
            return (to_uint8(y) if u8 else y).contiguous().numpy()
        host = self._pinned(self._pinned_in, batch.shape, torch.uint8 if u8 else torch.float32)
        host.numpy()[...] = batch
        x = host.to(self.torch_device, non_blocking=True)
        y = self._run(x)
        out = self._pinned(self._pinned_out, tuple(y.shape), y.dtype)
        out.copy_(y, non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return out.numpy().copy()

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Device input (float, or uint8 luma) -> device output of the same kind."""
        u8 = x.dtype == torch.uint8
        dtype = torch.float16 if self.half else torch.float32
        x = (x.to(dtype) / 255 if u8 else x.to(dtype)).contiguous(memory_format=torch.channels_last)
        y = self.model(x)
        return to_uint8(y) if u8 else y.float().contiguous()

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The forward pass, replayed from a CUDA graph for a shape seen before (no per-layer launch cost);
        eager when graphs are off or a capture failed (logged once)."""
        if not self.cuda_graphs:
            return self._forward(x)
        key = (tuple(x.shape), x.dtype)
        graph = self._graphs.get(key)
        if graph is None:
            try:
                graph = self._capture(x)
            except Exception as e:  # noqa: BLE001 - a capture that fails costs speed, not frames
                log.warning("CUDA graph capture failed (%s): running %s eagerly", e, self.spec.name)
                self.cuda_graphs = False
                return self._forward(x)
            self._graphs[key] = graph
        static_in, static_out, cuda_graph = graph
        static_in.copy_(x, non_blocking=True)
        cuda_graph.replay()
        return static_out

    def _capture(self, x: torch.Tensor) -> tuple:
        static_in = x.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # warm-up: cuDNN picks its algorithms outside the capture
                self._forward(static_in)
        torch.cuda.current_stream().wait_stream(side)
        cuda_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(cuda_graph):
            static_out = self._forward(static_in)
        return static_in, static_out, cuda_graph

    def describe(self) -> dict:
        info = super().describe()
        info["version"] = torch.__version__
        if self.device == "cuda":
            info["device_name"] = torch.cuda.get_device_name()
            info["precision"] = "fp16" if self.half else "fp32"
        return info
