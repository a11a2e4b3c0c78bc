"""Can you read the plate? ``vidclear eval legibility``: text read by a real OCR engine after upscaling.

A seeded set of licence-plate-like strings and short sign texts is rendered in
DejaVu Sans Bold (Debian's fonts-dejavu-core) at cap heights of 4 to 12
low-resolution pixels, degraded, upscaled by each method, and read by
Tesseract 5 (one text line, ``--psm 7``, upper-case letters and digits).
Character accuracy is one minus the edit distance over the string's length
(spaces ignored, floored at 0); string accuracy counts exact reads.

Degradations:
- ``clean``: MATLAB bicubic downscaling only (the published SR protocol);
- ``camera``: ``degrade.camera_degrade`` with ``BENCHMARK``: optical blur,
  bicubic downscaling, Poisson-Gaussian sensor noise, then H.264 through PyAV at
  400 kb/s for 640x360 at 15 fps, so the frame read is a P-frame with real codec
  artefacts.

Every image, the ceiling (the high-resolution original) included, is enlarged
by the same fixed bicubic factor before OCR, so the engine sees text of a size
it reads; that step is identical for every method.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

from ..errors import ConfigError
from .degrade import CameraModel, camera_degrade
from .matlab_resize import imresize

log = logging.getLogger(__name__)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CAP_HEIGHT_EM = 0.729  # DejaVu Sans Bold: cap height / font size
HEIGHTS = (4, 5, 6, 7, 8, 9, 10, 12)  # cap heights in low-resolution pixels
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # plate alphabets leave out I, O and Q
DIGITS = "0123456789"
WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
SIGNS = ("EXIT", "STOP", "NO ENTRY", "BUS STOP", "PARKING", "GATE", "DOCK", "ZONE", "LEVEL", "KEEP CLEAR",
         "WAY OUT", "TAXI", "DELIVERIES", "STAFF ONLY", "BAY")
OCR_ENLARGE = 4  # every image is enlarged this much (bicubic) before OCR
BENCHMARK = CameraModel(blur=0.5, gain=0.08, read_noise=4.0, kbps=400, codec="libx264")


@dataclass
class Sample:
    text: str
    height: int  # cap height, low-resolution pixels
    hr: np.ndarray  # uint8 grey, the original
    lr: Optional[np.ndarray] = None  # uint8 grey, after the degradation


def make_strings(count: int, rng: random.Random) -> list[str]:
    """Plates (two styles) and signs with numbers, in equal parts."""
    out = []
    for i in range(count):
        kind = i % 3
        if kind == 0:  # AB12 CDE
            out.append("".join(rng.choice(LETTERS) for _ in range(2)) + "".join(rng.choice(DIGITS) for _ in range(2))
                       + " " + "".join(rng.choice(LETTERS) for _ in range(3)))
        elif kind == 1:  # 7KXJ 482
            out.append(rng.choice(DIGITS) + "".join(rng.choice(LETTERS) for _ in range(3)) + " "
                       + "".join(rng.choice(DIGITS) for _ in range(3)))
        else:
            out.append(f"{rng.choice(SIGNS)} {rng.randint(1, 99)}")
    return out


def render(text: str, cap_px: int) -> np.ndarray:
    """Dark text on a light plate with a border, the cap height ``cap_px`` pixels."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), size=max(4, round(cap_px / CAP_HEIGHT_EM)))
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, round(0.6 * cap_px))
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 222)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, img.width - 1, img.height - 1], outline=40, width=max(1, cap_px // 10))
    draw.text((pad - left, pad - top), text, fill=25, font=font)
    return np.asarray(img)


def build_samples(count: int, scale: int, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    samples = []
    for i, text in enumerate(make_strings(count, rng)):
        height = HEIGHTS[i % len(HEIGHTS)]
        hr = render(text, height * scale)
        h, w = hr.shape
        samples.append(Sample(text, height, hr[: h - h % scale, : w - w % scale]))
    return samples


def _downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    return imresize(hr.astype(np.float64), 1 / scale)


def degrade_clean(samples: list[Sample], scale: int, seed: int) -> None:
    for s in samples:
        s.lr = np.clip(np.round(_downscale(s.hr, scale)), 0, 255).astype(np.uint8)


def degrade_camera(samples: list[Sample], scale: int, seed: int) -> None:
    """Blur, bicubic down, Poisson-Gaussian noise, then H.264 at a CCTV bitrate (real codec artefacts)."""
    lrs = camera_degrade([s.hr.astype(np.float64) for s in samples], scale, np.random.default_rng(seed), BENCHMARK)
    for s, lr in zip(samples, lrs):
        s.lr = lr


DEGRADATIONS: dict[str, Callable[[list[Sample], int, int], None]] = {"clean": degrade_clean,
                                                                      "camera": degrade_camera}


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def check_ocr() -> str:
    """The Tesseract version, or a ConfigError saying what to install."""
    try:
        import pytesseract
    except ImportError:
        raise ConfigError("the legibility benchmark needs pytesseract: pip install 'vidclear[legibility]'") from None
    if shutil.which("tesseract") is None:
        raise ConfigError("the legibility benchmark needs Tesseract 5: apt-get install tesseract-ocr "
                          "(make test installs it)")
    return f"tesseract {pytesseract.get_tesseract_version()} --psm 7 (A-Z 0-9)"


def read_text(image: np.ndarray) -> str:
    import pytesseract

    big = cv2.resize(image, None, fx=OCR_ENLARGE, fy=OCR_ENLARGE, interpolation=cv2.INTER_CUBIC)
    text = pytesseract.image_to_string(big, config=f"--psm 7 -c tessedit_char_whitelist={WHITELIST}")
    return "".join(ch for ch in text.upper() if ch in WHITELIST)


def score(samples: list[Sample], images: list[np.ndarray], workers: int = 2) -> dict:
    with ThreadPoolExecutor(workers) as pool:  # each read is a tesseract process: threads overlap them
        reads = list(pool.map(read_text, images))
    per_height: dict[int, list[tuple[float, bool]]] = {}
    for s, got in zip(samples, reads):
        want = s.text.replace(" ", "")
        acc = max(0.0, 1 - edit_distance(got, want) / len(want))
        per_height.setdefault(s.height, []).append((acc, got == want))
    every = [r for rows in per_height.values() for r in rows]
    return {
        "char_acc": round(100 * float(np.mean([a for a, _ in every])), 2),
        "string_acc": round(100 * float(np.mean([e for _, e in every])), 2),
        "by_height": {str(h): {"char_acc": round(100 * float(np.mean([a for a, _ in rows])), 2),
                               "string_acc": round(100 * float(np.mean([e for _, e in rows])), 2),
                               "strings": len(rows)}
                      for h, rows in sorted(per_height.items())},
    }


def sr_models(scale: int) -> list[str]:
    from ..models.registry import all_models

    return [m.name for m in all_models() if m.task == "sr" and m.scale == scale]


def degraded_samples(scale: int, degradation: str, count: int, seed: int) -> list[Sample]:
    """The benchmark's strings, rendered and degraded: what every method is given to read."""
    if degradation not in DEGRADATIONS:
        raise ConfigError(f"unknown degradation '{degradation}'; use clean or camera")
    if not FONT.exists():
        raise ConfigError(f"the legibility benchmark renders text in {FONT}: apt-get install fonts-dejavu-core")
    if count < len(HEIGHTS):
        raise ConfigError(f"--strings {count}: give at least {len(HEIGHTS)}, one per text height "
                          f"({', '.join(map(str, HEIGHTS))} LR px)")
    samples = build_samples(count, scale, seed)
    DEGRADATIONS[degradation](samples, scale, seed)
    return samples


def upscaled(samples: list[Sample], upscale: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Each sample's LR luma through ``upscale``, as 8-bit images for the OCR engine."""
    return [np.clip(np.round(upscale(s.lr.astype(np.float64))), 0, 255).astype(np.uint8) for s in samples]


def run_legibility(scale: int = 3, degradation: str = "camera", count: int = 240, seed: int = 0,
                   models: Optional[list[str]] = None) -> dict:
    """The benchmark: results for the original (the ceiling), bicubic and each SR model of ``scale``."""
    from ..models.registry import get_model
    from .run import luma_model_upscaler

    ocr = check_ocr()
    names = models if models is not None else sr_models(scale)
    specs = [get_model(name) for name in names]
    for spec in specs:
        if spec.scale != scale:
            raise ConfigError(f"model '{spec.name}' is x{spec.scale}, the benchmark runs at x{scale}")
    start = time.perf_counter()
    samples = degraded_samples(scale, degradation, count, seed)
    log.info("legibility: %d strings rendered and given the %s degradation at x%d in %.1f s; %d methods to read",
             count, degradation, scale, time.perf_counter() - start, len(specs) + 2)
    methods: list[tuple[str, Callable[[], list[np.ndarray]]]] = [
        ("original (ceiling)", lambda: [s.hr for s in samples]),
        ("bicubic", lambda: upscaled(samples, lambda y: imresize(y, scale)))]
    methods += [(spec.name, lambda spec=spec: upscaled(samples, luma_model_upscaler(spec))) for spec in specs]
    results = []
    for i, (name, images) in enumerate(methods, 1):
        start = time.perf_counter()
        results.append({"method": name, **score(samples, images())})
        log.info("legibility: %d/%d %s read %.2f %% of characters (%.1f s)", i, len(methods), name,
                 results[-1]["char_acc"], time.perf_counter() - start)
    return {
        "dataset": f"vidclear legibility v1 (seed {seed}: {count} plate and sign strings, cap heights "
                   f"{HEIGHTS[0]}-{HEIGHTS[-1]} LR px, DejaVu Sans Bold)",
        "scale": scale,
        "degradation": degradation,
        "strings": count,
        "ocr": ocr,
        "results": results,
    }


def legibility_table(report: dict) -> str:
    heights = list(report["results"][0]["by_height"])
    lines = [f"{report['dataset']}; x{report['scale']}, {report['degradation']} degradation; {report['ocr']}",
             "character / whole-string accuracy, %",
             "| method | all | " + " | ".join(f"{h} px" for h in heights) + " |",
             "|---|---|" + "---|" * len(heights)]
    for r in report["results"]:
        cells = [f"{r['char_acc']:.1f} / {r['string_acc']:.1f}"] + [
            f"{r['by_height'][h]['char_acc']:.1f} / {r['by_height'][h]['string_acc']:.1f}" for h in heights]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
