"""Training-time reparameterisation: train wider, run the same plain convolutions.

Tiny networks such as ESPCN learn more when each convolution is trained as a sum
of linear branches (ARM's SESR "collapsible linear blocks", ECBSR's re-param
blocks): the plain k x k convolution plus a k x k convolution out to a wide layer
and a 1 x 1 back down. With no activation between them the branches are one
linear map, so ``fold`` sums them into a single k x k kernel and bias: the
exported network is exactly the plain one, with its parameters, FLOPs and speed.
Only the optimisation sees the extra width.

Zero padding commutes with the fold because both branches pad the input before
their k x k convolution and the 1 x 1 has no spatial reach, so the folded network
equals the expanded one at the borders too (tests/unit/test_reparam.py).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ExpandedConv(nn.Module):
    """One ``nn.Conv2d`` trained as plain + (k x k to ``width``, then 1 x 1 back).

    The 1 x 1 starts at zero, so a model expanded from trained weights computes
    exactly what it did before the first step.
    """

    def __init__(self, conv: nn.Conv2d, width: int) -> None:
        super().__init__()
        if conv.groups != 1 or conv.dilation != (1, 1) or conv.stride != (1, 1) or conv.bias is None:
            raise ValueError("only plain stride-1 convolutions with a bias can be expanded")
        self.plain = copy.deepcopy(conv)
        self.wide = nn.Conv2d(conv.in_channels, width, conv.kernel_size, padding=conv.padding)
        self.narrow = nn.Conv2d(width, conv.out_channels, 1)
        nn.init.zeros_(self.narrow.weight)
        nn.init.zeros_(self.narrow.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.plain(x) + self.narrow(self.wide(x))

    @torch.no_grad()
    def fold(self) -> nn.Conv2d:
        """The single convolution this block computes."""
        mix = self.narrow.weight[:, :, 0, 0]  # (out, width)
        conv = copy.deepcopy(self.plain)
        conv.weight.copy_(self.plain.weight + torch.einsum("ow,wikl->oikl", mix, self.wide.weight))
        conv.bias.copy_(self.plain.bias + mix @ self.wide.bias + self.narrow.bias)
        return conv


def expand(model: nn.Module, factor: int) -> nn.Module:
    """A copy of ``model`` whose trainable convolutions are ExpandedConv blocks of width
    ``factor`` x max(in, out) channels. Frozen convolutions (a fixed bicubic branch) stay as they are."""
    if factor < 1:
        raise ValueError("the expansion factor must be at least 1")
    wide = copy.deepcopy(model)
    for parent in list(wide.modules()):  # listed first: the new blocks must not be expanded again
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d) and child.weight.requires_grad:
                width = factor * max(child.in_channels, child.out_channels)
                setattr(parent, name, ExpandedConv(child, width))
    return wide


def fold(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ExpandedConv replaced by the plain convolution it computes: the same
    modules, names and state-dict keys as the model ``expand`` started from."""
    plain = copy.deepcopy(model)
    for parent in list(plain.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ExpandedConv):
                setattr(parent, name, child.fold())
    return plain
