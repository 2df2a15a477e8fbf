"""Drawn characters for the motion evaluation, with the parts' true positions.

The characters come from `tests/support_drawings.py` (flat anime-style colours). Flat colour gives
optical flow nothing to hold on to except edges, so the "detailed" variants add what real
illustrations have: a background with shapes (bokeh circles, a window frame) and hair strands. The
"flat" variant is the drawing as is, the hard case for flow-based scoring.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support_drawings import DrawnTruth, draw_character

RGBImage = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
BoolMask = npt.NDArray[np.bool_]  # (H, W)

# Portrait 3:4 with a 720 px short side: the engine's output size, so no resizing between the
# drawing's truth and the rendered frames.
WIDTH: Final = 720
HEIGHT: Final = 960


@dataclass(frozen=True)
class Illustration:
    image: RGBImage
    truth: DrawnTruth
    background: BoolMask  # where the drawing shows background


def _detail_background(image: RGBImage, background: BoolMask, rng: np.random.Generator) -> None:
    """Paint soft circles and a window frame, only on background pixels (in place)."""
    height, width = background.shape
    layer = image.copy()
    for _ in range(70):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(8, 45))
        colour = tuple(int(c) for c in rng.integers(120, 255, 3))
        cv2.circle(layer, centre, radius, colour, -1, cv2.LINE_AA)
        cv2.circle(layer, centre, radius, tuple(int(c * 0.7) for c in colour), 2, cv2.LINE_AA)
    frame_colour = (110, 90, 80)
    for x in (int(0.08 * width), int(0.92 * width)):
        cv2.line(layer, (x, 0), (x, height), frame_colour, 6, cv2.LINE_AA)
    for y in (int(0.12 * height), int(0.55 * height)):
        cv2.line(layer, (0, y), (width, y), frame_colour, 6, cv2.LINE_AA)
    image[background] = layer[background]


def _hair_strands(image: RGBImage, hair: BoolMask, rng: np.random.Generator) -> None:
    """Darker and lighter strand lines inside the hair (in place)."""
    ys, xs = np.nonzero(hair)
    if len(xs) == 0:
        return
    base = np.median(image[hair], axis=0)
    layer = image.copy()
    for _ in range(160):
        pick = int(rng.integers(len(xs)))
        x0, y0 = int(xs[pick]), int(ys[pick])
        length = int(rng.integers(20, 70))
        angle = rng.uniform(0.3, 2.8)  # mostly downward strands
        x1, y1 = int(x0 + length * np.cos(angle)), int(y0 + length * np.sin(angle))
        shade = 0.65 if rng.random() < 0.6 else 1.3
        colour = tuple(int(min(255, c * shade)) for c in base)
        cv2.line(layer, (x0, y0), (x1, y1), colour, int(rng.integers(2, 4)), cv2.LINE_AA)
    image[hair] = layer[hair]


def illustration(
    kind: Literal["detailed", "flat"], *, seed: int, hair_color: tuple[int, int, int] | None = None
) -> Illustration:
    """A drawn character at the engine's output size; `detailed` adds background shapes and strands."""
    image, truth = draw_character(WIDTH, HEIGHT, seed=seed, hair_color=hair_color)
    image = image.copy()
    background = truth.labels == 0
    if kind == "detailed":
        rng = np.random.default_rng(1000 + seed)
        _detail_background(image, background, rng)
        _hair_strands(image, truth.hair_mask, rng)
    return Illustration(image=image, truth=truth, background=background)


def png_bytes(image: RGBImage) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(encoded.tobytes())
