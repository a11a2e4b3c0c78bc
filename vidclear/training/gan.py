"""What the SRGAN generator is trained against: a patch discriminator that is also the feature network.

SRGAN's perceptual loss compares VGG features of the output and the target;
VGG's weights cannot be downloaded here, and an ImageNet classifier knows
nothing of camera luma anyway. The discriminator we train ourselves is a
network whose features separate real from generated detail, so its
intermediate activations serve as the feature loss (feature matching,
Salimans et al. 2016): L1 between its features of the output and of the
high-resolution target. Its last layer gives one real/fake logit per patch.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(cout, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
    )


class PatchDiscriminator(nn.Module):
    """Luma (N,1,H,W) -> (features at 1/2, 1/4, 1/8 resolution, logits per 1/8-resolution cell)."""

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64)) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.stages = nn.ModuleList([_down(1, w1), _down(w1, w2), _down(w2, w3)])
        self.logits = nn.Conv2d(w3, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features, self.logits(x)


def generator_losses(d: PatchDiscriminator, out: torch.Tensor, target: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(feature loss, adversarial loss) of the generator's ``out``, from one pass of each image through ``d``.

    Feature loss: mean L1 between the discriminator's features of ``out`` and of
    ``target``. Adversarial: relativistic average (ESRGAN): the output should look
    more real than the real patches look. No gradient flows into the target's pass.
    """
    fake_features, fake = d(out)
    with torch.no_grad():
        real_features, real = d(target)
    feature = sum(F.l1_loss(f, r) for f, r in zip(fake_features, real_features)) / len(fake_features)
    adversarial = (F.binary_cross_entropy_with_logits(real - fake.mean(), torch.zeros_like(real))
                   + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.ones_like(fake))) / 2
    return feature, adversarial


def discriminator_loss(d: PatchDiscriminator, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The relativistic average loss from the discriminator's side (no gradient into the generator)."""
    _, fake = d(out.detach())
    _, real = d(target)
    return (F.binary_cross_entropy_with_logits(real - fake.mean(), torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.zeros_like(fake))) / 2
