"""A reading loss: a small glyph classifier, trained on clean renderings of the training text, judges whether
each character of a super-resolved text patch still reads as itself.

L1 and SSIM reward the average of what a degraded glyph could have been; where a 4-pixel "B" could as well be
an "8", that average reads as neither. The classifier's cross-entropy charges the network for output that no
longer tells the true character from the others, which is what an OCR engine needs (the idea of the recogniser
losses in text super-resolution, TSRN and its successors).

Glyphs come as rows (centre y, centre x, cap height, index in TEXT_CHARS) in HR pixels of a patch's image
(``tools/train_sr.py`` ``text_blocks``); each is cut from the output as a square of ``WINDOW`` cap heights,
turned back to upright whatever flip or transpose the patch was given, and resampled to ``SIZE`` pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 32  # the classifier's input, pixels a side
WINDOW = 1.6  # the square cut around a glyph, in cap heights: the glyph and a little of its neighbours
TEXT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # the characters of the training text, and the classes named


def glyph_grid(glyphs: torch.Tensor, side: int, size: int = SIZE) -> torch.Tensor:
    """``grid_sample`` grids (M, size, size, 2) of glyph rows (batch index, y, x, cap, class, k): y, x and cap
    in HR pixels of the patch before its orientation ``k`` (bit 4: transposed, 2: rows reversed, 1: columns
    reversed, applied in that order) and ``side`` the patch's HR side; each grid reads its glyph upright."""
    half = (WINDOW / 2) * glyphs[:, 3].view(-1, 1, 1)
    steps = (torch.arange(size, dtype=glyphs.dtype, device=glyphs.device) + 0.5) / size * 2 - 1
    y = glyphs[:, 1].view(-1, 1, 1) + steps.view(1, -1, 1) * half
    x = glyphs[:, 2].view(-1, 1, 1) + steps.view(1, 1, -1) * half
    y, x = torch.broadcast_tensors(y, x)
    k = glyphs[:, 5].long().view(-1, 1, 1)
    y, x = torch.where(k & 4 > 0, x, y), torch.where(k & 4 > 0, y, x)
    y = torch.where(k & 2 > 0, side - y, y)
    x = torch.where(k & 1 > 0, side - x, x)
    return torch.stack([x, y], -1) / side * 2 - 1


def glyph_crops(images: torch.Tensor, glyphs: torch.Tensor) -> torch.Tensor:
    """The upright ``SIZE``-pixel crops (M, 1, SIZE, SIZE) of ``glyphs`` from HR patches ``images`` (N, 1, S, S)."""
    grid = glyph_grid(glyphs, images.shape[-1])
    return F.grid_sample(images[glyphs[:, 0].long()], grid, mode="bilinear", padding_mode="border",
                         align_corners=False)


class GlyphReader(nn.Module):
    """Which of A-Z, 0-9 a crop shows. Each crop is brought to zero mean and unit spread first, so neither
    the grey levels nor the contrast of a block tell the character. With ``binarize`` k > 0 the reader sees
    ``tanh(k * z)`` of that, nearly black and white, as an OCR engine sees a page after thresholding it: a
    reading loss through it charges strokes that merge or break at the threshold, not only a wrong shape.
    ``binarize`` is a buffer, so a saved reader carries it."""

    def __init__(self, binarize: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("binarize", torch.tensor(float(binarize)))

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(),
                    nn.MaxPool2d(2)]

        self.features = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128 * (SIZE // 8) ** 2, 256), nn.ReLU(),
                                  nn.Linear(256, len(TEXT_CHARS)))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        mean = crops.mean((2, 3), keepdim=True)
        spread = crops.std((2, 3), keepdim=True)
        z = (crops - mean) / (spread + 0.02)
        if self.binarize > 0:
            z = torch.tanh(self.binarize * z)
        return self.head(self.features(z))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Readers saved before ``binarize`` existed read grey: their files lack the buffer. Done here rather
        than in ``load_state_dict`` so that it holds for a reader inside another module too (a saved
        ``ReadingLoss``), as ``BatchNorm`` fills in its own missing counter; ``state_dict`` is already a copy."""
        state_dict.setdefault(prefix + "binarize", torch.tensor(0.0))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class ReadingLoss(nn.Module):
    """Cross-entropy of a frozen ``GlyphReader`` on the glyphs cut from the output; 0 when a batch has none."""

    def __init__(self, reader: GlyphReader) -> None:
        super().__init__()
        self.reader = reader.eval()
        for p in self.reader.parameters():
            p.requires_grad_(False)

    def forward(self, out: torch.Tensor, glyphs: torch.Tensor) -> torch.Tensor:
        if not len(glyphs):
            return out.sum() * 0
        return F.cross_entropy(self.reader(glyph_crops(out, glyphs)), glyphs[:, 4].long())


def soften(crops: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Crops as an imperfect upscaler might draw them, for training the reader: a Gaussian blur of 0-1.2
    pixels, a contrast of 0.4-1 and noise of 0-0.04, each drawn per crop."""
    m = len(crops)
    sigma = torch.rand(m, generator=generator) * 1.2 + 1e-3
    taps = torch.arange(-3, 4, dtype=crops.dtype)
    kernel = torch.exp(-(taps.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(crops.device)
    x = crops.transpose(0, 1)  # (1, M, H, W): one group per crop
    x = F.conv2d(F.pad(x, (3, 3, 0, 0), mode="replicate"), kernel.view(m, 1, 1, 7), groups=m)
    x = F.conv2d(F.pad(x, (0, 0, 3, 3), mode="replicate"), kernel.view(m, 1, 7, 1), groups=m).transpose(0, 1)
    mean = x.mean((2, 3), keepdim=True)
    contrast = (torch.rand(m, 1, 1, 1, generator=generator) * 0.6 + 0.4).to(crops.device)
    noise = (torch.rand(m, 1, 1, 1, generator=generator) * 0.04).to(crops.device)
    return mean + (x - mean) * contrast + noise * torch.randn(x.shape, generator=generator).to(crops.device)


def jitter(glyphs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Glyph rows moved by up to 0.1 cap height and resized by up to 10 %, so the reader does not rely on
    exact centring."""
    moved = glyphs.clone()
    m = len(glyphs)
    shift = (torch.rand(m, 2, generator=generator) - 0.5) * 0.2
    moved[:, 1:3] += shift.to(glyphs.device) * glyphs[:, 3:4]
    moved[:, 3] *= 1 + (torch.rand(m, generator=generator).to(glyphs.device) - 0.5) * 0.2
    return moved


def train_reader(batches, steps: int, seed: int, log=print, soft: bool = True,
                 binarize: float = 0.0) -> GlyphReader:
    """A ``GlyphReader`` trained for ``steps`` on ``batches()``, each (patches, glyph rows), every crop moved
    (``jitter``) and, with ``soft`` (for clean HR text), softened (``soften``) at random; it logs its accuracy
    on fresh batches every quarter of the run; ``binarize`` as in ``GlyphReader``."""
    generator = torch.Generator().manual_seed(seed)
    view = (lambda crops: soften(crops, generator)) if soft else (lambda crops: crops)
    reader = GlyphReader(binarize)
    optim = torch.optim.Adam(reader.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=2e-3, total_steps=steps)
    for step in range(1, steps + 1):
        images, glyphs = batches()
        if not len(glyphs):
            continue
        crops = view(glyph_crops(images, jitter(glyphs, generator)))
        loss = F.cross_entropy(reader(crops), glyphs[:, 4].long())
        optim.zero_grad()
        loss.backward()
        optim.step()
        sched.step()
        if step % max(1, steps // 4) == 0:
            log(f"glyph reader: step {step}/{steps}  loss {loss.item():.4f}  "
                f"accuracy {reading_accuracy(reader, batches, view):.3f}")
    return reader.eval()


@torch.no_grad()
def reading_accuracy(reader: GlyphReader, batches, view=lambda crops: crops, rounds: int = 4) -> float:
    """The share of the glyphs of ``rounds`` fresh batches, seen through ``view``, that ``reader`` names right."""
    was_training = reader.training
    reader.eval()
    right = total = 0
    for _ in range(rounds):
        images, glyphs = batches()
        if not len(glyphs):  # small patches can hold no whole glyph
            continue
        right += int(named(reader, view(glyph_crops(images, glyphs)), glyphs).sum())
        total += len(glyphs)
    reader.train(was_training)
    return right / max(1, total)


@torch.no_grad()
def named(reader: GlyphReader, crops: torch.Tensor, glyphs: torch.Tensor) -> torch.Tensor:
    """Per glyph, whether ``reader`` names its crop right (bool, M)."""
    return reader(crops).argmax(1) == glyphs[:, 4].long()
