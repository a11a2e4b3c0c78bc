"""A deeper ESPCN that starts as the function of a trained one: a probe of what depth and reach add.

ESPCN's second activation is a ReLU, so its output is never negative, and for x >= 0
ReLU(identity convolution(x)) = x. Convolutions initialised to the identity can therefore
be inserted after it without changing what the network computes; training then uses
them. Each 3 x 3 layer adds one low-resolution pixel of reach and 9 x c2 x c2
multiply-adds per input pixel, so a deepened network is not the registry's ESPCN and
its cost: it is for probes and for teachers to distil from (``train_sr.py --teacher``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..models.espcn import ESPCN

PLAIN_CONVS = 3  # ESPCN's body: 5x5, 3x3, 3x3 to scale^2 phases


def identity_conv(channels: int) -> nn.Conv2d:
    """A 3 x 3 convolution that returns its input."""
    conv = nn.Conv2d(channels, channels, 3, padding=1)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[range(channels), range(channels), 1, 1] = 1.0
    return conv


def deepen(model: ESPCN, layers: int) -> ESPCN:
    """``model`` with ``layers`` identity 3 x 3 convolutions (and ReLUs) inserted before its last convolution;
    it computes what it did before."""
    if layers < 0:
        raise ValueError("the number of layers to add cannot be negative")
    body = list(model.body)
    if not isinstance(body[-2], nn.ReLU):
        raise ValueError("only an ESPCN with ReLU activations can be deepened without changing its output")
    channels = body[-1].in_channels
    extra: list[nn.Module] = []
    for _ in range(layers):
        extra += [identity_conv(channels), nn.ReLU(inplace=True)]
    model.body = nn.Sequential(*body[:-1], *extra, body[-1])
    return model


def added_layers(state: dict[str, torch.Tensor]) -> int:
    """How many layers ``deepen`` added to the network of ``state``: 0 for a plain ESPCN."""
    convs = sum(1 for k, v in state.items() if k.startswith("body.") and k.endswith(".weight") and v.dim() == 4)
    return convs - PLAIN_CONVS
