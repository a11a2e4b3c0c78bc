"""The backend contract: load a model, infer a batch, describe itself.

A backend knows nothing of video: it takes float32 arrays (N, C, H, W) in
[0, 1] and returns the model's output the same way. One file per runtime;
optional runtimes import lazily so everything loads on a CPU-only machine.
"""

from __future__ import annotations

import os
import statistics
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Optional

import numpy as np

from ..config import TensorRTConfig
from ..models.registry import ModelSpec


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity (not the machine's total), capped by OMP_NUM_THREADS
    when that is set, as Ray sets it to the CPUs a task was given and containers often do."""
    cores = max(1, len(os.sched_getaffinity(0)))
    omp = os.environ.get("OMP_NUM_THREADS", "")
    return min(cores, int(omp)) if omp.isdigit() and int(omp) > 0 else cores


@dataclass
class BackendOptions:
    """What a backend may want to know beyond the model: the frame size it will see, the batch."""

    frame_hw: Optional[tuple[int, int]] = None
    batch_size: int = 1
    precision: str = "fp16"  # on CUDA
    cpu_precision: str = "fp32"  # fp32 | int8 (ONNX Runtime on CPU)
    tensorrt: TensorRTConfig = field(default_factory=TensorRTConfig)
    threads: Optional[int] = None  # CPU threads per inference call; None: all cores
    cuda_graphs: bool = True  # replay the forward pass from a CUDA graph per input shape (torch on CUDA)

    @classmethod
    def from_config(cls, cfg, frame_hw: Optional[tuple[int, int]] = None) -> "BackendOptions":  # noqa: ANN001
        return cls(frame_hw, cfg.pipeline.batch_size, cfg.precision, cfg.cpu_precision, cfg.tensorrt,
                   cuda_graphs=cfg.cuda_graphs)

    @property
    def cpu_threads(self) -> int:
        return self.threads or usable_cores()


class Backend(ABC):
    name: ClassVar[str]
    devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")
    native_uint8: ClassVar[bool] = False  # infer() also takes uint8 luma (N, 1, H, W) and returns uint8

    @classmethod
    @abstractmethod
    def unavailable_reason(cls, device: str) -> str | None:
        """None when this backend can run on ``device`` here, else why not (one line)."""

    @classmethod
    def version(cls) -> str | None:
        """The runtime's version, or None when it is not installed."""
        return None

    @abstractmethod
    def __init__(self, spec: ModelSpec, device: str, options: Optional[BackendOptions] = None) -> None:
        self.spec = spec
        self.device = device
        self.options = options or BackendOptions()

    @abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, C, H, W) in [0, 1] -> float32 (N, C, H*scale, W*scale)."""

    def describe(self) -> dict:
        info = {"backend": self.name, "device": self.device, "model": self.spec.name}
        if self.device == "cpu":
            info["threads"] = self.options.cpu_threads
        return info


def median_infer_seconds(backend: Backend, batch: np.ndarray, calls: int, warmup: int = 1) -> float:
    """Median wall seconds of ``backend.infer(batch)`` after ``warmup`` untimed calls (infer returns
    host arrays, so on a GPU each call includes its copies and synchronisation)."""
    for _ in range(warmup):
        backend.infer(batch)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        backend.infer(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
