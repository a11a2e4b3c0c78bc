#!/usr/bin/env python3
"""Train an ESPCN luma super-resolution model on T91 + BSD200.

Low-resolution inputs are made with the MATLAB-compatible bicubic that the
evaluation protocol uses, so training and scoring see the same degradation.
Checkpoints go to --work-dir every --ckpt-every steps; --resume continues one.
The finished weights (a plain state_dict) and their sha256 are written to --out.

--expand N trains each convolution as a reparameterised block N times wider
(vidclear/training/reparam.py) and writes the folded, plain ESPCN: same
parameters, FLOPs and speed. --hold-out-tenth leaves every 10th training image
out, so that tools/sr_heldout.py can compare weights on images none of them saw.
--read-weight W adds W x the cross-entropy of a glyph classifier, trained on the
training text's clean HR, on every training character cut from the output
(vidclear/training/glyphs.py): a loss for drawing small text so that it reads.
--deepen N inserts N identity-initialised 3x3 layers into --init's network (a
probe of depth and reach, not a runtime model: vidclear/training/deepen.py);
--teacher FILE distils towards the output of such a network.
--adv-weight / --feature-weight add SRGAN's terms (vidclear/training/gan.py): a
patch discriminator trained step for step with the network, its relativistic
adversarial loss and the L1 between its features of the output and the target.
--arch srgan trains srgan-x4's generator (vidclear/models/srgan.py) with all of
these losses; tools/train_srgan.py is its from-scratch recipe.

Example (the command behind the committed espcn-x3 weights is in its model card):
    python tools/train_sr.py --scale 3 --steps 20000 --out vidclear/models/weights/espcn_x3.pt
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.evaluation.legibility import CAP_HEIGHT_EM, FONT  # noqa: E402
from vidclear.evaluation.matlab_resize import imresize  # noqa: E402
from vidclear.evaluation.metrics import modcrop  # noqa: E402
from vidclear.evaluation.sr import load_pairs, make_pair, read_rgb, score_sr  # noqa: E402
from vidclear.models.espcn import ESPCN  # noqa: E402
from vidclear.models.srcnn import SRCNN  # noqa: E402
from vidclear.models.srgan import SRGANGenerator  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402
from vidclear.training.gan import PatchDiscriminator, discriminator_loss, generator_losses  # noqa: E402
from vidclear.training.losses import InkLoss, L1SSIMLoss  # noqa: E402
from vidclear.training.loop import (  # noqa: E402
    Optimisation,
    add_run_arguments,
    due,
    load_checkpoint,
    luma_upscaler,
    prepare_run,
    save_checkpoint,
    split_tenth,
    training_images,
)
from vidclear.training.glyphs import TEXT_CHARS, WINDOW, GlyphReader, ReadingLoss, train_reader  # noqa: E402
from vidclear.training.deepen import added_layers, deepen  # noqa: E402
from vidclear.training.reparam import expand, fold  # noqa: E402

DATA = SHARED_DATA / "sr"


class PatchSampler:
    """Random aligned LR/HR luma patches with the eight flips/rotations.

    With ``rotate`` > 0, half the patches are also turned by an angle drawn
    from +-rotate degrees: the HR patch is cut rotated (bicubic) from the HR
    image and its LR made from it again with the protocol's bicubic, so the
    pair stays exactly aligned. ``noise`` adds Gaussian noise with a sigma drawn
    from 0..noise to the LR inputs.
    """

    def __init__(self, paths: list[Path], scale: int, patch: int, noise: float, seed: int,
                 rotate: float = 0.0, degradation: str = "clean", variants: int = 3, text_images: int = 0,
                 text_heights: tuple[int, int] = (3, 14), text_plates: float = 0.0, more_fonts: bool = False,
                 extra_fonts: tuple[Path, ...] = ()) -> None:
        self.scale, self.patch, self.noise, self.rotate = scale, patch, noise, rotate
        self.rng = np.random.default_rng(seed)
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []
        self.glyphs: list[np.ndarray] = []  # per pair: text_blocks' glyph rows, none for photographs
        pairs = [make_pair(read_rgb(path), scale, path.stem) for path in paths]
        blocks = text_blocks(text_images, scale, np.random.default_rng(seed + 1), text_heights, plates=text_plates,
                             more_fonts=more_fonts, extra_fonts=extra_fonts)
        texts = [modcrop(t, scale) for t, _ in blocks]
        hrs = [pair.hr_y for pair in pairs] + texts
        glyphs = [np.zeros((0, 4))] * len(pairs) + [g for _, g in blocks]
        if degradation == "clean":  # the protocol's LR, as make_pair made it for the shipped clean models
            lrs = [[pair.lr_y for pair in pairs] + [imresize(t, 1 / scale) for t in texts]]
        else:  # each variant: every image through a camera drawn at random, eight images per camera
            from vidclear.evaluation.degrade import CameraModel, camera_degrade

            lrs = []
            for _ in range(variants):
                lr_v: list[np.ndarray] = []
                for i in range(0, len(hrs), 8):
                    cam = CameraModel.random(self.rng)
                    lr_v += [lr.astype(np.float64) for lr in camera_degrade(hrs[i:i + 8], scale, self.rng, cam)]
                lrs.append(lr_v)
        targets = [(hr / 255).astype(np.float32) for hr in hrs]  # one array each, shared by its camera copies
        for lr_v in lrs:
            for lr, hr, g in zip(lr_v, targets, glyphs):
                if min(lr.shape) >= patch:
                    self.pairs.append(((lr / 255).astype(np.float32), hr))
                    self.glyphs.append(g)
        self._weigh()

    def _weigh(self) -> None:
        """Sample images in proportion to their area so big images are not under-used."""
        areas = np.array([lr.size for lr, _ in self.pairs], dtype=np.float64)
        self.weights = areas / areas.sum()

    def save_pack(self, path: Path, meta: dict) -> None:
        """Write the pairs and their glyphs to ``path`` (.npz), for ``load_pack`` on a machine that cannot build
        them (no PyAV, fonts or data: a lent GPU). Levels are stored as uint8: a camera's decoded LR is whole
        levels already; the HR is rounded to whole levels, a change of at most half a level in the target.
        Each HR is stored once, however many camera copies share it. ``main`` refuses clean pairs, whose LR
        is not whole levels."""
        arrays, hr_ids = {}, {}
        index = []
        for j, (lr, hr) in enumerate(self.pairs):
            arrays[f"lr{j}"] = np.round(lr * 255).astype(np.uint8)
            if id(hr) not in hr_ids:
                hr_ids[id(hr)] = len(hr_ids)
                arrays[f"hr{hr_ids[id(hr)]}"] = np.clip(np.round(hr * 255), 0, 255).astype(np.uint8)
            index.append(hr_ids[id(hr)])
        counts = [len(g) for g in self.glyphs]
        glyphs = np.concatenate([g.reshape(-1, 4) for g in self.glyphs]) if self.glyphs else np.zeros((0, 4))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, hr_index=np.array(index), glyph_counts=np.array(counts), glyphs=glyphs,
                            meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load_pack(cls, path: Path, scale: int, patch: int, noise: float, seed: int, rotate: float = 0.0
                  ) -> "PatchSampler":
        """A sampler of the pairs ``save_pack`` wrote, drawing with its own generator (``seed``)."""
        self = cls.__new__(cls)
        self.scale, self.patch, self.noise, self.rotate = scale, patch, noise, rotate
        self.rng = np.random.default_rng(seed)
        with np.load(path) as z:
            self.meta = json.loads(str(z["meta"]))
            if self.meta["scale"] != scale:
                raise ValueError(f"{path} holds x{self.meta['scale']} pairs, not x{scale}")
            hrs = [(z[f"hr{k}"] / 255).astype(np.float32) for k in range(int(z["hr_index"].max()) + 1)]
            ends = np.cumsum(z["glyph_counts"])
            glyphs = np.split(z["glyphs"], ends[:-1])
            self.pairs = [((z[f"lr{j}"] / 255).astype(np.float32), hrs[k]) for j, k in enumerate(z["hr_index"])]
        self.glyphs = [g for g, (lr, _) in zip(glyphs, self.pairs) if min(lr.shape) >= patch]
        self.pairs = [pair for pair in self.pairs if min(pair[0].shape) >= patch]
        self._weigh()
        return self

    def hold_out(self, every: int, seed: int) -> "PatchSampler":
        """Take one (LR, HR) pair in ``every``, drawn with this sampler's generator, out of it; returns a
        sampler of those pairs with its own generator (``seed``). Pairs are taken one by one: another degraded
        copy of a held-out image may stay in training."""
        held = max(1, len(self.pairs) // every)
        order = self.rng.permutation(len(self.pairs))
        keep = np.ones(len(self.pairs), bool)
        keep[order[:held]] = False
        other = self.subset(order[:held], seed)
        self.pairs = [p for p, k in zip(self.pairs, keep) if k]
        self.glyphs = [g for g, k in zip(self.glyphs, keep) if k]
        self.weights = self.weights[keep] / self.weights[keep].sum()
        return other

    def subset(self, indices, seed: int) -> "PatchSampler":
        """A sampler of the pairs at ``indices`` (by area, as this one) with its own generator (``seed``)."""
        other = copy.copy(self)
        other.pairs, other.rng = [self.pairs[i] for i in indices], np.random.default_rng(seed)
        other.glyphs = [self.glyphs[i] for i in indices]
        areas = np.array([lr.size for lr, _ in other.pairs], dtype=np.float64)
        other.weights = areas / areas.sum()
        return other

    def text_only(self, seed: int) -> "PatchSampler":
        """A sampler of the pairs that carry glyphs, with its own generator: what the glyph reader learns from."""
        return self.subset([i for i, g in enumerate(self.glyphs) if len(g)], seed)

    def batch(self, n: int, glyphs: bool = False) -> tuple[torch.Tensor, ...]:
        """``n`` (LR, HR) patches; with ``glyphs`` also the rows (patch index, y, x, cap, class, orientation) of
        the glyphs whose ``glyphs.WINDOW`` square lies inside an unrotated patch, in its HR pixels before the
        orientation (``glyphs.glyph_grid``). Asking for them draws nothing more."""
        s, p = self.scale, self.patch
        lrs, hrs, rows = [], [], []
        for j, i in enumerate(self.rng.choice(len(self.pairs), size=n, p=self.weights)):
            lr, hr = self.pairs[i]
            y = int(self.rng.integers(0, lr.shape[0] - p + 1))
            x = int(self.rng.integers(0, lr.shape[1] - p + 1))
            a = lr[y : y + p, x : x + p]
            b = hr[y * s : (y + p) * s, x * s : (x + p) * s]
            turned = self.rotate > 0 and self.rng.random() < 0.5
            if turned:
                a, b = self.rotated(hr, y * s, x * s, float(self.rng.uniform(-self.rotate, self.rotate)), a, b)
            k = int(self.rng.integers(0, 8))
            if glyphs and not turned and len(self.glyphs[i]):
                rows.append(glyphs_inside(self.glyphs[i], y * s, x * s, p * s, j, k))
            if k & 4:
                a, b = a.T, b.T
            if k & 2:
                a, b = a[::-1], b[::-1]
            if k & 1:
                a, b = a[:, ::-1], b[:, ::-1]
            lrs.append(np.ascontiguousarray(a))
            hrs.append(np.ascontiguousarray(b))
        lr_t = torch.from_numpy(np.stack(lrs))[:, None]
        if self.noise > 0:
            sigma = torch.empty(n, 1, 1, 1).uniform_(0, self.noise)
            lr_t = lr_t + sigma * torch.randn_like(lr_t)
        hr_t = torch.from_numpy(np.stack(hrs))[:, None]
        if not glyphs:
            return lr_t, hr_t
        return lr_t, hr_t, torch.from_numpy(np.concatenate(rows or [np.zeros((0, 6))]).astype(np.float32))

    def rotated(self, hr: np.ndarray, y: int, x: int, degrees: float, a: np.ndarray, b: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """The HR patch at (y, x) turned by ``degrees`` about its centre, and its LR; (a, b) if it does not fit."""
        side, s, mg = self.patch * self.scale, self.scale, 4  # mg: LR pixels of context kept for the bicubic
        big = side + 2 * mg * s
        cy, cx = y + side / 2, x + side / 2
        reach = big * 0.5 * (abs(np.cos(np.radians(degrees))) + abs(np.sin(np.radians(degrees)))) + 3
        if cy - reach < 0 or cx - reach < 0 or cy + reach > hr.shape[0] or cx + reach > hr.shape[1]:
            return a, b
        m = cv2.getRotationMatrix2D((cx - 0.5, cy - 0.5), degrees, 1.0)
        m[:, 2] -= (x - mg * s, y - mg * s)  # output pixel (0, 0) is the corner of the patch with its context
        hr_big = cv2.warpAffine(hr, m, (big, big), flags=cv2.INTER_CUBIC)
        lr_patch = (np.round(imresize(hr_big * 255, 1 / s)) / 255)[mg : mg + self.patch, mg : mg + self.patch]
        hr_patch = hr_big[mg * s : mg * s + side, mg * s : mg * s + side]
        return lr_patch.astype(np.float32), np.clip(hr_patch, 0, 1).astype(np.float32)


def glyphs_inside(glyphs: np.ndarray, y: int, x: int, side: int, index: int, k: int) -> np.ndarray:
    """The rows of ``glyphs`` (y, x, cap, class in HR pixels of an image) whose reading window lies inside the
    ``side``-pixel patch at (y, x), as ``PatchSampler.batch`` gives them: (index, y, x, cap, class, k) in the
    patch's pixels."""
    half = glyphs[:, 2] * (WINDOW / 2)
    cy, cx = glyphs[:, 0] - y, glyphs[:, 1] - x
    inside = (cy >= half) & (cy + half <= side) & (cx >= half) & (cx + half <= side)
    m = int(inside.sum())
    return np.column_stack([np.full(m, index), cy[inside], cx[inside], glyphs[inside, 2], glyphs[inside, 3],
                            np.full(m, k)])


# The training text's fonts and the Debian package of each: never the legibility benchmark's DejaVuSans-Bold.
# Their order is part of the seeded draw: the cards' commands give the same text only in this order.
TEXT_FONTS = {"DejaVuSansMono-Bold.ttf": "fonts-dejavu-core", "DejaVuSerif-Bold.ttf": "fonts-dejavu-core",
              "DejaVuSansCondensed-Bold.ttf": "fonts-dejavu-extra", "DejaVuSans.ttf": "fonts-dejavu-core"}


# --more-fonts adds two bold sans faces of other families (plates and signs are mostly bold sans), each with
# its Debian package; still never the benchmark's face.
MORE_TEXT_FONTS = {Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf"): "fonts-liberation2",
                   Path("/usr/share/fonts/truetype/freefont/FreeSansBold.ttf"): "fonts-freefont-ttf"}


def text_fonts(folder: Path = FONT.parent, more: bool = False, extra: tuple[Path, ...] = ()) -> list[Path]:
    """The training text's font files (``TEXT_FONTS`` in ``folder``, then ``MORE_TEXT_FONTS`` if ``more``, then
    ``extra``: a user's own faces, such as the typeface of the plates their cameras watch); a missing one
    ends the tool with one line naming its package (the condensed face is not in fonts-dejavu-core, which
    the benchmark itself needs)."""
    packages = {folder / name: package for name, package in TEXT_FONTS.items()}
    if more:
        packages.update(MORE_TEXT_FONTS)
    missing = [p for p in packages if not p.is_file()]
    if missing:
        names = " ".join(sorted({packages[p] for p in missing}))
        print(f"train_sr: the training text needs {', '.join(str(p) for p in missing)}: apt-get install {names}",
              file=sys.stderr)
        raise SystemExit(2)
    return list(packages) + list(extra)


def random_text(rng: np.random.Generator, low: int, high: int, alphabet: str = TEXT_CHARS) -> str:
    """``low`` to ``high - 1`` characters drawn from ``alphabet`` (the count first, then each character)."""
    return "".join(rng.choice(list(alphabet)) for _ in range(int(rng.integers(low, high))))


def plate_block(cap: int, font, min_h: int, rng: np.random.Generator) -> np.ndarray:
    """Dark strings of letters and digits on light plates with a dark border, the way number plates and signs
    look, stacked on a flat ground of random grey until the block is at least ``min_h`` pixels tall and wide."""
    from PIL import Image, ImageDraw

    plates: list[Image.Image] = []
    gap = max(2, cap // 2)
    while sum(p.height + gap for p in plates) + gap < min_h:
        text = random_text(rng, 3, 6) + " " + random_text(rng, 2, 5)
        left, top, right, bottom = font.getbbox(text)
        pad = max(2, round(cap * rng.uniform(0.4, 0.8)))
        plate = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), int(rng.integers(170, 246)))
        draw = ImageDraw.Draw(plate)
        draw.rectangle([0, 0, plate.width - 1, plate.height - 1], outline=int(rng.integers(0, 90)),
                       width=max(1, cap // 10))
        draw.text((pad - left, pad - top), text, fill=int(rng.integers(0, 80)), font=font)
        plates.append(plate)
    width = max(max(p.width for p in plates) + 2 * gap, min_h)
    img = Image.new("L", (width, sum(p.height + gap for p in plates) + gap), int(rng.integers(0, 256)))
    y = gap
    for p in plates:
        img.paste(p, (int(rng.integers(0, width - p.width + 1)), y))
        y += p.height + gap
    return np.asarray(img)


def text_lines(count: int, scale: int, rng: np.random.Generator, heights: tuple[int, int] = (3, 14),
               folder: Path = FONT.parent, plates: float = 0.0, more_fonts: bool = False,
               extra_fonts: tuple[Path, ...] = ()) -> list[np.ndarray]:
    """The images of ``text_blocks``."""
    return [img for img, _ in text_blocks(count, scale, rng, heights, folder, plates, more_fonts, extra_fonts)]


def text_blocks(count: int, scale: int, rng: np.random.Generator, heights: tuple[int, int] = (3, 14),
                folder: Path = FONT.parent, plates: float = 0.0, more_fonts: bool = False,
                extra_fonts: tuple[Path, ...] = ()) -> list[tuple[np.ndarray, np.ndarray]]:
    """Synthetic blocks of text lines (random letters and digits, other fonts than the benchmark's), cap
    heights in ``heights`` low-resolution pixels, either polarity: the small text cameras are asked to read.
    Each block holds lines enough to be at least 32 LR pixels tall, so patches can be cut from it.
    A share ``plates`` of the blocks are plates instead (``plate_block``); at 0 no draw is spent on that
    choice, so the blocks are those the cards' commands were trained on.

    Each block comes with its glyphs, one row (centre y, centre x, cap height, index in TEXT_CHARS) per
    character of its lines, in HR pixels, for losses that read them (``vidclear/training/glyphs.py``);
    plates carry none. Finding them draws nothing, so the images stay those of the seed."""
    from PIL import ImageFont

    fonts = [str(p) for p in text_fonts(folder, more_fonts, extra_fonts)] if count else []
    out = []
    for _ in range(count):
        cap = int(rng.integers(heights[0], heights[1] + 1)) * scale
        font = ImageFont.truetype(rng.choice(fonts), size=max(4, round(cap / CAP_HEIGHT_EM)))
        if plates and rng.random() < plates:
            block, glyphs = plate_block(cap, font, 40 * scale, rng), []
        else:
            block, glyphs = line_block(cap, font, scale, rng)
        out.append((block.astype(np.float64) * (219 / 255) + 16,  # video-range luma, as rgb_to_y gives
                    np.array(glyphs, dtype=np.float64).reshape(-1, 4)))
    return out


def line_block(cap: int, font, scale: int, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple]]:
    """Lines of random letters and digits in ``font``, either polarity, at least 40 LR pixels tall, and the
    glyph row (centre y, centre x, cap height, index in TEXT_CHARS) of each character drawn."""
    from PIL import Image, ImageDraw

    fg, bg = (int(v) for v in rng.integers(0, 256, 2))
    if abs(fg - bg) < 60:
        fg, bg = 20, 230
    if rng.random() < 0.5:
        fg, bg = bg, fg
    width, line_h = int(rng.integers(40, 200)) * scale, int(cap * rng.uniform(1.5, 2.5))
    lines = max(2, -(-40 * scale // line_h))
    img = Image.new("L", (width, lines * line_h + cap), bg)
    draw = ImageDraw.Draw(img)
    _, cap_top, _, cap_bottom = font.getbbox("H")
    glyphs = []
    for i in range(lines):
        text = random_text(rng, 4, 14, TEXT_CHARS + "  ")
        x0, y0 = int(rng.integers(0, cap + 1)), i * line_h + cap // 2
        draw.text((x0, y0), text, fill=fg, font=font)
        for j, ch in enumerate(text):
            if ch != " ":
                left, _, right, _ = font.getbbox(ch)
                x = x0 + font.getlength(text[:j]) + (left + right) / 2
                glyphs.append((y0 + (cap_top + cap_bottom) / 2, x, cap_bottom - cap_top, TEXT_CHARS.index(ch)))
    return np.asarray(img), glyphs


def sr_network_from_file(path: Path, scale: int) -> torch.nn.Module:
    """The network of a weight file train_sr.py writes, on the CPU: a plain ESPCN (of any ``--channels`` or
    ``--deepen``) or an ``--arch srgan`` generator (of any width and depth), told apart by their keys."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "head.0.weight" in state:
        blocks = len({key.split(".")[1] for key in state if key.startswith("blocks.")})
        model: torch.nn.Module = SRGANGenerator(scale, state["head.0.weight"].shape[0], blocks)
    else:
        model = ESPCN(scale, (state["body.0.weight"].shape[0], state["body.2.weight"].shape[0]))
        model = deepen(model, added_layers(state))
    model.load_state_dict(state)
    return model.eval()


def sr_upscaler(path: Path, scale: int):
    """A luma upscaler of a weight file train_sr.py writes (ESPCN or SRGAN generator), on the CPU."""
    return luma_upscaler(sr_network_from_file(path, scale), torch.device("cpu"))


def glyph_reader(args: argparse.Namespace, sampler: PatchSampler, work_dir: Path) -> GlyphReader:
    """The reader ``--read-weight`` charges by: loaded from ``--reader`` if that file exists, else trained on
    the HR of the training text (a sampler of its own, so the SR batches stay those of the seed) and saved."""
    path = args.reader or work_dir / "glyph_reader.pt"
    if path.is_file():
        reader = GlyphReader()
        reader.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        print(f"train_sr: glyph reader from {path}", flush=True)
        return reader.eval()
    text = sampler.text_only(args.seed + 2)
    reader = train_reader(lambda: text.batch(args.batch, glyphs=True)[1:], args.reader_steps, args.seed + 3,
                          log=lambda line: print(f"train_sr: {line}", flush=True), binarize=args.reader_binarize)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(reader.state_dict(), path)
    print(f"train_sr: glyph reader written to {path}", flush=True)
    return reader


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    ap.add_argument("--arch", choices=("espcn", "srcnn", "srgan"), default="espcn",
                    help="srgan: the generator of srgan-x4 (vidclear/models/srgan.py), 32 channels, 6 blocks")
    ap.add_argument("--channels", type=int, nargs=2, default=(64, 32))
    ap.add_argument("--no-residual", action="store_true", help="paper ESPCN without the bicubic residual")
    ap.add_argument("--activation", choices=("relu", "prelu"), default="relu")
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--patch", type=int, default=24, help="low-resolution patch size")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--ssim-weight", type=float, default=0.0, help="loss = L1 + w * (1 - SSIM)")
    ap.add_argument("--ssim-sigma", type=float, default=1.5,
                    help="the SSIM window's Gaussian sigma, HR pixels (1.5: evaluation's 11x11 window)")
    ap.add_argument("--ink-weight", type=float, default=0.0,
                    help="loss += w * InkLoss: which side of its surroundings each pixel falls, as OCR binarises")
    ap.add_argument("--read-weight", type=float, default=0.0,
                    help="loss += w * cross-entropy of a glyph reader on the training text's characters "
                         "(vidclear/training/glyphs.py)")
    ap.add_argument("--reader", type=Path, default=None,
                    help="the glyph reader's weights: read if the file exists, else trained on the training text's "
                         "HR and written there (default: in --work-dir)")
    ap.add_argument("--reader-steps", type=int, default=1500, help="steps to train the glyph reader")
    ap.add_argument("--reader-binarize", type=float, default=0.0,
                    help="a new reader sees tanh(k x) of each normalised crop, near black and white, as OCR "
                         "thresholds a page (0: grey)")
    ap.add_argument("--noise", type=float, default=0.0, help="max Gaussian noise sigma added to LR inputs")
    ap.add_argument("--rotate", type=float, default=0.0, help="turn half the patches by up to +- this many degrees")
    ap.add_argument("--degradation", choices=("clean", "camera"), default="clean",
                    help="camera: LR through vidclear.evaluation.degrade with a random camera per 8 images")
    ap.add_argument("--variants", type=int, default=3, help="camera: degraded copies of each image")
    ap.add_argument("--text-images", type=int, default=0, help="synthetic text lines added to the training images")
    ap.add_argument("--text-heights", type=int, nargs=2, default=(3, 14), help="their cap heights, LR pixels")
    ap.add_argument("--text-plates", type=float, default=0.0,
                    help="share of the text blocks drawn as bordered plates (dark on light) instead of lines")
    ap.add_argument("--more-fonts", action="store_true",
                    help="also draw the text in Liberation Sans Bold and FreeSans Bold (fonts-liberation2, "
                         "fonts-freefont-ttf)")
    ap.add_argument("--text-font", type=Path, action="append", default=[], metavar="TTF",
                    help="also draw the text in this face (repeatable): the typeface of the plates or signs "
                         "your cameras watch")
    ap.add_argument("--expand", type=int, default=0,
                    help="train each convolution as a block this many times wider, folded back for --out")
    ap.add_argument("--deepen", type=int, default=0,
                    help="a probe, not a runtime model: insert this many identity-initialised 3x3 layers after "
                         "--init's weights are loaded (vidclear/training/deepen.py)")
    ap.add_argument("--teacher", type=Path, default=None,
                    help="distil: loss += --teacher-weight x L1 to this ESPCN weight file's output (of any "
                         "--channels or --deepen)")
    ap.add_argument("--teacher-weight", type=float, default=1.0)
    ap.add_argument("--adv-weight", type=float, default=0.0,
                    help="loss += w x the relativistic adversarial loss of a patch discriminator trained beside "
                         "the network (vidclear/training/gan.py)")
    ap.add_argument("--feature-weight", type=float, default=0.0,
                    help="loss += w x the L1 between that discriminator's features of the output and the target")
    ap.add_argument("--gan-lr", type=float, default=1e-4, help="the discriminator's learning rate")
    ap.add_argument("--hold-out-tenth", action="store_true",
                    help="leave every 10th T91 + BSD200 image out (the images tools/sr_heldout.py scores)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--pack-out", type=Path, default=None,
                    help="write the camera training pairs (with their text and glyphs) to this .npz and stop")
    ap.add_argument("--pack", type=Path, default=None,
                    help="train on the pairs of a --pack-out file instead of building them: where PyAV, the fonts "
                         "or the data are absent, such as a lent GPU (the data options then come from the pack)")
    add_run_arguments(ap, ckpt_every=1000)
    args = ap.parse_args(argv)
    if not 0 <= args.text_plates <= 1:
        ap.error(f"--text-plates is a share of the text blocks, 0 to 1, not {args.text_plates}")
    if args.read_weight and not (args.text_images or args.pack):
        ap.error("--read-weight reads the training text: give --text-images too")
    espcn_shape = args.no_residual or args.activation != "relu" or tuple(args.channels) != ap.get_default("channels")
    if args.arch == "srgan" and espcn_shape:
        ap.error("--arch srgan is srgan-x4's generator (32 channels, 6 blocks, ReLU, bicubic residual): "
                 "--channels, --activation and --no-residual are for espcn and srcnn")
    if args.deepen and (args.arch != "espcn" or args.activation != "relu"):
        ap.error("--deepen is for --arch espcn with ReLU activations")
    if args.teacher and not args.teacher.is_file():
        ap.error(f"--teacher {args.teacher}: no such weight file")
    if (args.adv_weight or args.feature_weight) and args.resume:
        ap.error("--resume does not restore the discriminator of --adv-weight/--feature-weight: run again without it")
    for font in args.text_font:
        if not font.is_file():
            ap.error(f"--text-font {font}: no such font file")

    if args.pack_out and args.degradation != "camera":
        ap.error("--pack-out writes camera pairs: give --degradation camera (clean pairs: tools/train_sr_gpu.py)")
    if args.pack and args.pack_out:
        ap.error("--pack reads a pack and --pack-out writes one: give one of them")
    if args.pack and not args.pack.is_file():
        ap.error(f"--pack {args.pack}: no such file")
    device, ckpt_path = prepare_run(args)

    if args.pack:
        try:
            sampler = PatchSampler.load_pack(args.pack, args.scale, args.patch, args.noise, args.seed, args.rotate)
        except (ValueError, KeyError, OSError) as err:
            ap.error(f"--pack {args.pack}: {err}")
        print(f"train_sr: pairs from {args.pack}: {json.dumps(sampler.meta)}", flush=True)
        if args.read_weight and not sampler.meta["text_images"]:
            ap.error(f"--read-weight reads the training text: {args.pack} holds none")
    else:
        paths = training_images("train_sr", args.data, "set5")
        if args.text_images:
            text_fonts(more=args.more_fonts, extra=tuple(args.text_font))  # before minutes of work, not after
        if args.hold_out_tenth:
            paths = split_tenth(paths)[0]
        sampler = PatchSampler(paths, args.scale, args.patch, args.noise, args.seed, args.rotate, args.degradation,
                               args.variants, args.text_images, tuple(args.text_heights), args.text_plates,
                               args.more_fonts, tuple(args.text_font))
    if args.pack_out:
        meta = {key: getattr(args, key) for key in ("scale", "degradation", "variants", "text_images", "text_plates",
                                                    "more_fonts", "hold_out_tenth", "seed", "patch")}
        meta.update(text_heights=list(args.text_heights), text_font=[str(f) for f in args.text_font],
                    images=len(paths), pairs=len(sampler.pairs))
        sampler.save_pack(args.pack_out, meta)
        print(json.dumps({"pack": str(args.pack_out), "bytes": args.pack_out.stat().st_size, **meta}), flush=True)
        return 0
    set5 = args.data / "set5"
    val_pairs = load_pairs(set5, args.scale) if set5.is_dir() else None  # a pack may travel without it
    print(f"train_sr: {len(sampler.pairs)} training images, scale x{args.scale}, device {device}"
          f"{'' if val_pairs else f' (no {set5}: no Set5 PSNR in the progress lines)'}", flush=True)

    if args.arch == "espcn":
        model = ESPCN(args.scale, tuple(args.channels), residual=not args.no_residual,
                      activation=args.activation).to(device)
    elif args.arch == "srgan":
        model = SRGANGenerator(args.scale).to(device)
    else:
        model = SRCNN(args.scale, tuple(args.channels)).to(device)
    if args.init:
        # strict=False: a stage may change the activations (PReLU slopes are then dropped)
        try:
            missing, unexpected = model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True),
                                                        strict=False)
        except RuntimeError as err:  # a tensor of another shape: another width, depth or scale
            detail = next((line.strip() for line in str(err).splitlines() if "size mismatch" in line), str(err))
            ap.error(f"--init {args.init} does not fit --arch {args.arch} at x{args.scale}: {detail}")
        print(f"train_sr: starting from {args.init} (ignored: {unexpected or 'nothing'}; new: {missing or 'nothing'})",
              flush=True)
    if args.deepen:
        model = deepen(model, args.deepen).to(device)
    if args.expand:
        if args.arch != "espcn":
            ap.error("--expand is for --arch espcn")
        model = expand(model, args.expand).to(device)
        print(f"train_sr: training {sum(p.numel() for p in model.parameters() if p.requires_grad)} parameters, "
              f"folded to {sum(p.numel() for p in fold(model).parameters() if p.requires_grad)} for --out", flush=True)
    optim = Optimisation(torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr),
                         args.steps, device)
    criterion = L1SSIMLoss(args.ssim_weight, args.ssim_sigma).to(device)
    ink = InkLoss().to(device)
    teacher = sr_network_from_file(args.teacher, args.scale).to(device) if args.teacher else None
    reading = ReadingLoss(glyph_reader(args, sampler, ckpt_path.parent)).to(device) if args.read_weight else None
    disc, d_optim = None, None
    if args.adv_weight or args.feature_weight:
        disc = PatchDiscriminator().to(device)
        d_optim = Optimisation(torch.optim.Adam(disc.parameters(), lr=args.gan_lr, betas=(0.9, 0.99)), args.steps,
                               device)
    step = 0
    if args.resume and ckpt_path.exists():
        step, rng = load_checkpoint(ckpt_path, model, optim, device)
        sampler.rng.bit_generator.state = rng["sampler"]
        print(f"train_sr: resumed at step {step}", flush=True)

    t0 = time.time()
    running = 0.0
    while step < args.steps:
        lr_b, hr_b, *glyphs = sampler.batch(args.batch, glyphs=reading is not None)
        lr_b, hr_b = lr_b.to(device, non_blocking=True), hr_b.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
            out = model(lr_b)
        loss = criterion(out.float(), hr_b)
        if args.ink_weight:
            loss = loss + args.ink_weight * ink(out.float(), hr_b)
        if teacher is not None:
            with torch.no_grad():
                target = teacher(lr_b)
            loss = loss + args.teacher_weight * (out.float() - target).abs().mean()
        if reading is not None:
            loss = loss + args.read_weight * reading(out.float(), glyphs[0].to(device))
        if disc is not None:
            feature, adversarial = generator_losses(disc, out.float(), hr_b)
            loss = loss + args.feature_weight * feature + args.adv_weight * adversarial
        optim.step(loss)
        if disc is not None:
            d_optim.step(discriminator_loss(disc, out.float(), hr_b))
        step += 1
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if due(step, args.ckpt_every, args.steps):
            save_checkpoint(ckpt_path, model, optim, step, {"sampler": sampler.rng.bit_generator.state})
        if due(step, args.val_every, args.steps):
            val = ""
            if val_pairs:
                model.eval()
                score = score_sr(val_pairs, args.scale, luma_upscaler(model, device), with_ssim=False)
                val = f"Set5 PSNR {score.psnr:.3f} dB  "
                model.train()
            rate = step / (time.time() - t0)
            print(f"step {step}/{args.steps}  loss {running:.5f}  lr {optim.lr:.2e}  {val}{rate:.1f} steps/s",
                  flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    model = fold(model.cpu().eval())
    torch.save(model.state_dict(), args.out)
    info = {"weights": str(args.out), "sha256": sha256(args.out), "steps": step, "seconds": round(time.time() - t0, 1)}
    print(json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
