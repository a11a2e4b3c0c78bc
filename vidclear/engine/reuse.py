"""Static-camera reuse: recompute only the tiles of a frame whose input changed.

A fixed camera shows the same background for hours. The low-resolution luma is
cut into ``tile`` x ``tile`` tiles; a tile's output is recomputed only when its
input, or the input within the model's receptive radius around it (its halo),
moved since that output was computed:

- a pixel in the tile or its halo moved by more than ``threshold`` levels (a car),
- or the tile's mean moved by more than ``mean_threshold`` (dusk, a light slowly
  coming up: compared with the input the output was made from, not the previous
  frame, so slow changes cannot drift by unseen),
- or its turn in the rolling refresh came (every tile at least every
  ``refresh_every`` frames, a few tiles each frame, so no frame pays for it all).

The changed tiles are cut out with their halo (windows of one size, clamped
inside the frame so the frame border is padded exactly as in a whole-frame
run), inferred in one batch, and their centres pasted into the kept output.
When more than ``full_above`` of the tiles changed (a pan, a cut, lights on) the
whole frame is processed as without reuse. The halo is the model's receptive
radius, measured on the network (``ModelSpec.receptive_radius``); a model whose
output depends on the whole frame (the low-light U-Net's brightness head) is
always processed whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from ..frame import float_to_luma


@dataclass
class ReuseStats:
    frames: int = 0
    whole_frames: int = 0  # processed whole: the first, a size change, or most tiles changed
    tiles: int = 0  # tiles of all frames
    computed: int = 0  # tiles recomputed (a whole frame counts all of its tiles)
    shares: list[float] = field(default_factory=list)  # computed share per frame

    @property
    def share(self) -> Optional[float]:
        return self.computed / self.tiles if self.tiles else None


class TileReuse:
    """The reuse state of one stream: the input each tile's output was made from, and the kept output."""

    def __init__(self, tile: int, halo: int, scale: int, threshold: float = 8.0, mean_threshold: float = 1.0,
                 refresh_every: int = 100, full_above: float = 0.5) -> None:
        self.tile, self.halo, self.scale = tile, halo, scale
        self.window = tile + 2 * halo
        self.threshold, self.mean_threshold = threshold, mean_threshold
        self.refresh_every, self.full_above = refresh_every, full_above
        self.ref: Optional[np.ndarray] = None  # uint8 LR luma: per tile, the input its output was made from
        self.out: Optional[np.ndarray] = None  # uint8 HR luma: the kept output
        self.stats = ReuseStats()
        self._spread = np.ones((2 * halo + 1, 2 * halo + 1), np.uint8) if halo else None
        self._counts: Optional[tuple[tuple[int, int], np.ndarray]] = None

    def _grid(self, shape: tuple[int, int]) -> tuple[int, int]:
        return -(-shape[0] // self.tile), -(-shape[1] // self.tile)

    def _per_tile(self, plane: np.ndarray, how: str) -> np.ndarray:
        """max or sum of ``plane`` over each tile (the frame padded with zeros to whole tiles)."""
        nty, ntx = self._grid(plane.shape)
        t = self.tile
        padded = np.zeros((nty * t, ntx * t), plane.dtype)
        padded[: plane.shape[0], : plane.shape[1]] = plane
        blocks = padded.reshape(nty, t, ntx, t)
        return blocks.max(axis=(1, 3)) if how == "max" else blocks.sum(axis=(1, 3), dtype=np.int64)

    def plan(self, y: np.ndarray) -> Optional[np.ndarray]:
        """The tiles (K, 2: row, column) to recompute for this frame's luma, or None for the whole frame.

        The reference input is updated here, for the tiles that will be recomputed."""
        nty, ntx = self._grid(y.shape)
        self.stats.frames += 1
        self.stats.tiles += nty * ntx
        if self.ref is None or self.ref.shape != y.shape or min(y.shape) < self.window:
            return self._whole(y, nty * ntx)
        diff = cv2.absdiff(y, self.ref)
        spread = cv2.dilate(diff, self._spread) if self._spread is not None else diff  # max over each halo
        changed = self._per_tile(spread, "max") > self.threshold
        signed = y.astype(np.int16) - self.ref.astype(np.int16)
        if self._counts is None or self._counts[0] != y.shape:
            self._counts = (y.shape, self._per_tile(np.ones(y.shape, np.int16), "sum"))  # pixels per tile
        changed |= np.abs(self._per_tile(signed, "sum") / self._counts[1]) > self.mean_threshold
        if self.refresh_every:
            turn = (self.stats.frames - 1) % self.refresh_every
            changed |= (np.arange(nty * ntx).reshape(nty, ntx) % self.refresh_every) == turn
        share = float(changed.mean())
        if share > self.full_above:
            return self._whole(y, nty * ntx)
        tiles = np.argwhere(changed)
        t = self.tile
        for ty, tx in tiles:
            self.ref[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t] = y[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t]
        self.stats.computed += len(tiles)
        self.stats.shares.append(share)
        return tiles

    def _whole(self, y: np.ndarray, count: int) -> None:
        self.ref = y.copy()
        self.stats.whole_frames += 1
        self.stats.computed += count
        self.stats.shares.append(1.0)
        return None

    def _origin(self, start: int, size: int) -> int:
        """Where a window starts for a tile starting at ``start``: ``halo`` before it, kept inside the frame."""
        return min(max(start - self.halo, 0), size - self.window)

    def windows(self, luma: np.ndarray, tiles: np.ndarray) -> np.ndarray:
        """The model's input for these tiles: (K, 1, window, window) windows of the luma (float, or the
        8-bit plane for a backend that takes it)."""
        h, w = luma.shape
        out = np.empty((len(tiles), 1, self.window, self.window), luma.dtype)
        for i, (ty, tx) in enumerate(tiles):
            oy, ox = self._origin(ty * self.tile, h), self._origin(tx * self.tile, w)
            out[i, 0] = luma[oy:oy + self.window, ox:ox + self.window]
        return out

    def paste(self, tiles: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        """Put the centres of the tiles' outputs into the kept output; returns a copy for this frame."""
        assert self.out is not None and self.ref is not None
        h, w = self.ref.shape
        s, t = self.scale, self.tile
        if len(tiles):
            ws = self.window * s
            luma = outputs.reshape(len(tiles), ws, ws)
            if luma.dtype != np.uint8:
                luma = float_to_luma(luma.reshape(-1, ws)).reshape(len(tiles), ws, ws)
            for (ty, tx), tile_out in zip(tiles, luma):
                y0, x0 = ty * t, tx * t
                y1, x1 = min(y0 + t, h), min(x0 + t, w)
                oy, ox = self._origin(y0, h), self._origin(x0, w)
                self.out[y0 * s:y1 * s, x0 * s:x1 * s] = tile_out[(y0 - oy) * s:(y1 - oy) * s,
                                                                  (x0 - ox) * s:(x1 - ox) * s]
        return self.out.copy()

    def keep(self, output: np.ndarray) -> None:
        """A whole frame's output becomes the kept output."""
        self.out = output.copy()
