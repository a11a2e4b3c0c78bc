"""Night mode: run the low-light model only while the scene is dark.

Mean luma under ``dark_below`` switches it on, over ``bright_above`` switches it
off; between the two the state holds, so dusk does not flicker on and off.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def mean_luma(y: np.ndarray) -> float:
    """Mean of a subsampled luma plane: cheap and plenty accurate for a threshold."""
    return float(y[::4, ::4].mean())


class NightSwitch:
    def __init__(self, mode: str, dark_below: float, bright_above: float) -> None:
        self.mode = mode
        self.dark_below = dark_below
        self.bright_above = bright_above
        self.night = mode == "on"
        self.switches = 0

    def update(self, y: np.ndarray, index: int) -> bool:
        if self.mode != "auto":
            return self.night
        level = mean_luma(y)
        if not self.night and level < self.dark_below:
            self.night = True
        elif self.night and level > self.bright_above:
            self.night = False
        else:
            return self.night
        self.switches += 1
        log.info(
            "night mode %s at frame %d (mean luma %.0f %s %.0f)",
            "on" if self.night else "off",
            index,
            level,
            "<" if self.night else ">",
            self.dark_below if self.night else self.bright_above,
        )
        return self.night
