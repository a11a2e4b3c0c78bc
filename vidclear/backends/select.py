"""Backend registry and the --backend auto choice.

``auto`` walks the backends from fastest to slowest and takes the first that
can run here, logging why each faster one could not.
"""

from __future__ import annotations

import logging

from ..errors import BackendUnavailable, UnknownNameError
from ..models.registry import ModelSpec
from typing import Optional

from .base import Backend, BackendOptions
from .onnxruntime_backend import OnnxRuntimeBackend
from .tensorrt_backend import TensorRTBackend
from .torch_backend import TorchBackend

log = logging.getLogger(__name__)

BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (TensorRTBackend, TorchBackend, OnnxRuntimeBackend)}

# (backend, device) from fastest to slowest (docs/performance.md, backend order).
AUTO_ORDER: list[tuple[str, str]] = [
    ("tensorrt", "cuda"),
    ("torch", "cuda"),
    ("onnxruntime", "cuda"),
    ("onnxruntime", "cpu"),
    ("torch", "cpu"),
]


def backend_names() -> list[str]:
    return ["auto", *BACKENDS]


def resolve_device(device: str, cls: type[Backend] | None = None) -> str:
    if device != "auto":
        return device
    if cls is not None and cls.devices == ("cuda",):
        return "cuda"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def choose_backend(name: str, device: str = "auto") -> tuple[type[Backend], str]:
    """The backend class and device that ``name`` and ``device`` (either may be auto) come to here."""
    if name == "auto":
        skipped = []
        for candidate, cand_device in AUTO_ORDER:
            if device != "auto" and cand_device != device:
                continue
            reason = BACKENDS[candidate].unavailable_reason(cand_device)
            if reason is None:
                for why in skipped:
                    log.info("backend auto: skipped %s", why)
                log.info("backend auto: chose %s on %s", candidate, cand_device)
                return BACKENDS[candidate], cand_device
            skipped.append(f"{candidate} ({cand_device}): {reason}")
        raise BackendUnavailable("no backend can run here: " + "; ".join(skipped))
    cls = BACKENDS.get(name)
    if cls is None:
        raise UnknownNameError(f"unknown backend '{name}'; known backends: {', '.join(backend_names())}")
    dev = resolve_device(device, cls)
    reason = cls.unavailable_reason(dev)
    if reason is not None:
        raise BackendUnavailable(f"backend '{name}' cannot run on {dev}: {reason}")
    return cls, dev


def auto_fallback(name: str) -> Optional[type[Backend]]:
    """What ``auto`` falls back to when its choice cannot write the export or engine it caches (a read-only
    or full disk): PyTorch, which loads the weights as they are. A named backend has no fallback."""
    return TorchBackend if name == "auto" else None


def create_backend(
    name: str, spec: ModelSpec, device: str = "auto", options: Optional[BackendOptions] = None
) -> Backend:
    cls, dev = choose_backend(name, device)
    return cls(spec, dev, options)


def backend_table() -> list[dict]:
    """Every (backend, device) pair that auto considers, with why it cannot run here, and the board
    on a Jetson (its GPU alone says only "Orin")."""
    from ..export.tensorrt_build import jetson_module

    module = jetson_module() or None
    rows = []
    for name, device in AUTO_ORDER:
        cls = BACKENDS[name]
        reason = cls.unavailable_reason(device)
        rows.append(
            {
                "backend": name,
                "device": device,
                "available": reason is None,
                "version": cls.version(),
                "reason": reason,
                "platform": module,
            }
        )
    return rows
