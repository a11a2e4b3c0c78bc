"""Model registry: name -> descriptor (task, scale, architecture, weights, card).

Callers ask a descriptor what they need (scale, channels, size multiple,
parameter count) without touching the network, as spandrel does. Weights are
small files committed beside this module, checked against their sha256 and
loaded with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Literal, Optional

import torch
from torch import nn

from ..errors import UnknownNameError, VidclearError
from .bicubic import Bicubic
from .denoise import AttentionUNetDenoiser
from .espcn import ESPCN
from .lowlight import LowLightNet
from .srcnn import SRCNN
from .srgan import SRGANGenerator

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

Task = Literal["sr", "lowlight", "denoise", "classical"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: Task
    scale: int
    architecture: str
    build: Callable[[], nn.Module] = field(repr=False)
    description: str = ""
    weights: Optional[str] = None  # file name in WEIGHTS_DIR
    sha256: Optional[str] = None
    card: Optional[str] = None  # model card file name in WEIGHTS_DIR
    channels: int = 1  # 1: luma in, luma out; 3: RGB
    size_multiple: int = 1
    frames: int = 1  # 2: the previous frame's input too, stacked after the frame's own channels

    @property
    def input_channels(self) -> int:
        """Channels of the network's input: the frame's, and the previous frame's for a two-frame model."""
        return self.channels * self.frames

    @cached_property
    def params(self) -> int:
        """Trained parameters (fixed kernels such as the bicubic phases are not counted)."""
        return sum(p.numel() for p in self.build().parameters() if p.requires_grad)

    @cached_property
    def flops_per_pixel(self) -> int:
        return flops_per_input_pixel(self.build(), self.input_channels)

    @cached_property
    def receptive_radius(self) -> Optional[int]:
        """Input pixels each side that one output pixel depends on; None when it depends on the whole frame."""
        return receptive_radius(self.build(), self.input_channels, self.scale)

    @property
    def weights_path(self) -> Optional[Path]:
        return WEIGHTS_DIR / self.weights if self.weights else None

    def describe(self) -> dict:
        return {
            "name": self.name,
            "task": self.task,
            "scale": self.scale,
            "architecture": self.architecture,
            "params": self.params,
            "flops_per_input_pixel": self.flops_per_pixel,
            "frames": self.frames,
            "weights": f"vidclear/models/weights/{self.weights}" if self.weights else None,
            "card": f"vidclear/models/weights/{self.card}" if self.card else None,
            "description": self.description,
        }

    def load(self) -> nn.Module:
        """The network in eval mode on the CPU, with its checked weights."""
        model = self.build()
        path = self.weights_path
        if path is not None:
            if not path.exists():
                raise VidclearError(f"weights for model '{self.name}' are missing: {path}")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if self.sha256 and digest != self.sha256:
                raise VidclearError(
                    f"weights for model '{self.name}' do not match their checksum ({path}): "
                    f"expected {self.sha256[:12]}, got {digest[:12]}"
                )
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        return model.eval()


def flops_per_input_pixel(model: nn.Module, channels: int = 1, height: int = 48, width: int = 64) -> int:
    """Multiply-adds x 2 of every convolution, per pixel of the input frame.

    Counted by running a small input through the model with hooks, so layers that
    work at another resolution (SRCNN after its upscale, a U-Net's coarse levels)
    are weighted by the pixels they really see.
    """
    total = 0

    def hook(m: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1]
        total += 2 * k * (m.in_channels // m.groups) * m.out_channels * out.shape[-1] * out.shape[-2]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, channels, height, width))
    finally:
        for h in handles:
            h.remove()
    return int(round(total / (height * width)))


def receptive_radius(model: nn.Module, channels: int, scale: int, size: int = 65) -> Optional[int]:
    """How far (in input pixels) the network looks around an output pixel, measured on the network itself.

    The gradient of the output pixels of the centre input pixel is taken on a few
    random inputs (random, so that no ReLU path is dead in all of them); its support is
    the receptive field. A support that reaches the probe's border means the output
    depends on the whole frame (a U-Net's global brightness head): None.
    """
    model = model.eval()
    centre = size // 2
    radius: Optional[int] = None  # no support seen at all (every output saturated): unknown, so the whole frame
    generator = torch.Generator().manual_seed(0)
    for level in (1.0, 0.1, 0.02):  # bright and dark inputs: a low-light model saturates on bright ones
        x = (level * torch.rand(1, channels, size, size, generator=generator)).requires_grad_(True)
        y = model(x)
        y[..., centre * scale:(centre + 1) * scale, centre * scale:(centre + 1) * scale].sum().backward()
        rows, cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1)) > 0, as_tuple=True)
        if len(rows) == 0:
            continue
        if rows.min() == 0 or cols.min() == 0 or rows.max() == size - 1 or cols.max() == size - 1:
            return None
        seen = int(max(centre - rows.min(), rows.max() - centre, centre - cols.min(), cols.max() - centre))
        radius = seen if radius is None else max(radius, seen)
    return radius


class Identity(nn.Module):
    """Passes luma through unchanged: a re-encode through the full pipeline, and a test model."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


_REGISTRY: dict[str, ModelSpec] = {}
_ALIASES: dict[str, str] = {"bicubic": "bicubic-x2"}


def register(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"model '{spec.name}' registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def get_model(name: str) -> ModelSpec:
    spec = _REGISTRY.get(_ALIASES.get(name, name))
    if spec is None:
        raise UnknownNameError(f"unknown model '{name}'; known models: {', '.join(model_names())}")
    return spec


def model_names() -> list[str]:
    return sorted(_REGISTRY) + sorted(_ALIASES)


def all_models() -> list[ModelSpec]:
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


# --- the models we ship ---------------------------------------------------------
_ESPCN_SHA = {
    2: "d959b85a38b71380db363c138f5397ff81c4528f625f3af22926dd537b75f457",
    3: "bcb8fcf9dd76c2c05ec4b548f5742d7e3ddabda9395b3583ebcac0070857230e",
    4: "9061b7742bead3588a3a042a540bab6406f6619eb9d167946d8ab5ed79384c34",
}

# The -cctv models are fine-tuned from their clean twins on camera-like input (blur, Poisson-Gaussian noise,
# H.264/H.265 at CCTV bitrates, synthetic text): the same network, so the same speed.
_ESPCN_CCTV_SHA: dict[int, str] = {
    2: "f259f1d1526429a29c1c8fcb4eaede2e5bb7e7b00c2f7f299874c0dc2d07dc22",
    3: "d6047729a1ed3cb1dfdd31f11821ed3cd8c58f52da3e73305b4185a485ce3af2",
    4: "72327c911bf18016fad17f9e5e6bf1fe1c4416480058e24aa430e868af2d5f4b",
}

for _s, _variant, _sha in [(s, "", _ESPCN_SHA[s]) for s in (2, 3, 4)] + [
        (s, "-cctv", sha) for s, sha in _ESPCN_CCTV_SHA.items()]:
    register(
        ModelSpec(
            name=f"espcn-x{_s}{_variant}",
            task="sr",
            scale=_s,
            architecture="ESPCN 5-3-3, 64/32 channels, ReLU, bicubic residual",
            build=(lambda s=_s: ESPCN(s)),
            description=(f"x{_s} luma super-resolution trained on T91 + BSD200" if not _variant else
                         f"x{_s} luma super-resolution for real cameras: noise, blur and codec artefacts"),
            weights=f"espcn_x{_s}{_variant.replace('-', '_')}.pt",
            sha256=_sha,
            card=f"espcn_x{_s}{_variant.replace('-', '_')}.md",
        )
    )

register(
    ModelSpec(
        name="srcnn-x3",
        task="sr",
        scale=3,
        architecture="SRCNN 9-1-5, 64/32 channels, after a bicubic upscale",
        build=lambda: SRCNN(3),
        description="x3 reference network (slow: works at output resolution)",
        weights="srcnn_x3.pt",
        sha256="ebfd096f6c80477e42d2893adb89ea01f4933aa0d3a9490072a8bab518698f3c",
        card="srcnn_x3.md",
    )
)

for _s in (2, 3, 4):
    register(
        ModelSpec(
            name=f"bicubic-x{_s}",
            task="classical",
            scale=_s,
            architecture="bicubic interpolation",
            build=(lambda s=_s: Bicubic(s)),
            description=f"x{_s} classical bicubic upscale (the baseline every model must beat)",
        )
    )

register(
    ModelSpec(
        name="lowlight",
        task="lowlight",
        scale=1,
        architecture="3-level U-Net with exposure normalisation and a whole-image brightness head",
        build=LowLightNet,
        description="night enhancement: brightens, denoises and corrects colour casts (RGB)",
        weights="lowlight.pt",
        sha256="47efb215747ca3fe10effd6fa312e564485b07fc0bc2a830a31e160a660834a4",
        card="lowlight.md",
        channels=3,
        size_multiple=4,
    )
)

register(
    ModelSpec(
        name="srgan-x4",
        task="sr",
        scale=4,
        architecture="SRGAN-style generator: 6 residual blocks of 32 channels at low resolution, sub-pixel "
                     "output, bicubic residual; trained with L1, then L1 + feature + adversarial losses",
        build=lambda: SRGANGenerator(4, 32, 6),
        description="x4 forensic luma super-resolution for recorded incidents (slow: offline files, not live)",
        weights="srgan_x4.pt",
        sha256="9f2caed3f3a0b9bc81995d3586a9e31312969b6d56767be6451384d42b4a3572",
        card="srgan_x4.md",
    )
)

register(
    ModelSpec(
        name="denoise",
        task="denoise",
        scale=1,
        architecture="attention U-Net (gated skips), 3 levels: full, 1/2, 1/4 resolution, 32/48/96 channels",
        build=AttentionUNetDenoiser,
        description="night sensor noise and codec blotches removed (RGB, with the previous frame for video)",
        weights="denoise.pt",
        sha256="1f1b03ccb67553b2b3deab900982b835e84093c81dee2fdf82b1e98a90898896",
        card="denoise.md",
        channels=3,
        size_multiple=8,
        frames=2,
    )
)

register(
    ModelSpec(
        name="identity",
        task="classical",
        scale=1,
        architecture="identity",
        build=Identity,
        description="passes frames through unchanged (re-encode through the pipeline)",
    )
)
