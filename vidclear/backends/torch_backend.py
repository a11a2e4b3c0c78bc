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


class TorchBackend(Backend):
    name = "torch"

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
        if self.half:
            self._check_fp16(spec)

    def _check_fp16(self, spec: ModelSpec) -> None:
        from ..evaluation.metrics import psnr
        from ..export.onnx_export import sample_input

        x = sample_input(spec.channels, 96, 128)
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
        buf = cache.get(shape)
        if buf is None:
            buf = torch.empty(shape, dtype=dtype, pin_memory=True)
            cache[shape] = buf
        return buf

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self.device == "cpu":
            x = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            return self.model(x).contiguous().numpy()
        host = self._pinned(self._pinned_in, batch.shape, torch.float32)
        host.numpy()[...] = batch
        x = host.to(self.torch_device, non_blocking=True)
        x = (x.half() if self.half else x).contiguous(memory_format=torch.channels_last)
        y = self.model(x).float().contiguous()
        out = self._pinned(self._pinned_out, tuple(y.shape), torch.float32)
        out.copy_(y, non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return out.numpy().copy()

    def describe(self) -> dict:
        info = super().describe()
        info["version"] = torch.__version__
        if self.device == "cuda":
            info["device_name"] = torch.cuda.get_device_name()
            info["precision"] = "fp16" if self.half else "fp32"
        return info
