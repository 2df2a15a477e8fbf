"""Faces in photos: OpenCV's Haar cascades (frontal face alt2, then eyes inside the face's upper half; eyes
not seen are mirrored or estimated from face proportions, the mouth always is).

The cascades ship inside the opencv-python wheel; nothing is downloaded.
"""

from __future__ import annotations

import functools
import importlib
import math
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts.types import _MIN_FACE_SHARE, Box, Face, RGBFrame, _Detection


@functools.cache
def _cascade(name: str) -> Any:  # cv2.CascadeClassifier, loaded once per process (~20 ms each)
    # `cv2.data` is missing from OpenCV's type stubs, hence the import by name.
    path = Path(importlib.import_module("cv2.data").haarcascades) / f"haarcascade_{name}.xml"
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise RuntimeError(f"OpenCV could not load its Haar cascade {path}")
    return classifier


def _detect_photo_face(image: RGBFrame, small: RGBFrame, grey: npt.NDArray[np.uint8]) -> _Detection | None:
    """Haar face in `small`'s coordinates. Eyes are searched in the full-resolution face crop."""
    small_h, small_w = grey.shape
    min_side = max(24, round(min(small_h, small_w) * _MIN_FACE_SHARE))
    # Equalising makes the cascade see faces in dark or washed-out photos.
    # A coarse scale step halves the cost against 1.1 and still finds faces of every size it covers.
    found = _cascade("frontalface_alt2").detectMultiScale(
        cv2.equalizeHist(grey), scaleFactor=1.2, minNeighbors=3, minSize=(min_side, min_side)
    )
    if len(found) == 0:
        return None
    is_colour = _colourfulness(small) > 6.0
    candidates = sorted((Box(*map(float, f)) for f in found), key=lambda b: -b.w * b.h)
    for box in candidates:
        eyes = _haar_eyes(image, box, (small_w, small_h))
        skin = _skin_share(small, box)
        # Alt2 rarely fires on non-faces at this size, but textures can fool it: a face must show an eye or
        # skin (grey photos cannot show skin, so an eye alone decides there).
        if eyes or (is_colour and skin >= 0.3):
            return _photo_detection(small, box, eyes)
    return None


def _haar_eyes(image: RGBFrame, face: Box, small_size: tuple[int, int]) -> list[Box]:
    """Up to two eye boxes in the face's (small image's) coordinates, from the upper half of `face` only."""
    height, width = image.shape[:2]
    to_x, to_y = width / small_size[0], height / small_size[1]  # small -> full
    x0, y0 = max(0, int(face.x * to_x)), max(0, int(face.y * to_y))
    x1, y1 = min(width, int((face.x + face.w) * to_x)), min(height, int((face.y + 0.62 * face.h) * to_y))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    crop = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)  # (h, w) uint8, full resolution
    # The eye cascade's window is 20 px; eyes ~1/5 of a 160 px face are ~32 px: found quickly and reliably.
    zoom = 160.0 / (x1 - x0)
    # No histogram equalisation here: it hides eyes behind glasses from both eye cascades.
    crop = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
    eyes: list[Box] = []
    for name in ("eye_tree_eyeglasses", "eye"):
        found = _cascade(name).detectMultiScale(
            crop, scaleFactor=1.1, minNeighbors=2, minSize=(16, 16), maxSize=(72, 72)
        )
        eyes = [
            Box((x0 + ex / zoom) / to_x, (y0 + ey / zoom) / to_y, ew / zoom / to_x, eh / zoom / to_y)
            for ex, ey, ew, eh in (map(float, e) for e in found)
        ]
        eyes = [
            e
            for e in eyes
            if face.y + 0.15 * face.h <= e.cy <= face.y + 0.58 * face.h and 0.1 * face.w <= e.w <= 0.45 * face.w
        ]
        if eyes:
            break
    return _best_eye_pair(eyes, face)


def _best_eye_pair(eyes: list[Box], face: Box) -> list[Box]:
    """Up to two eyes, sorted by x: the most face-like pair, else the single most central-height eye."""
    best: tuple[float, list[Box]] | None = None
    for i, first in enumerate(eyes):
        for second in eyes[i + 1 :]:
            left, right = sorted((first, second), key=lambda e: e.cx)
            spread = (right.cx - left.cx) / face.w
            if not 0.22 <= spread <= 0.7 or abs(left.cy - right.cy) > 0.15 * face.h:
                continue
            # A real pair sits either side of the face's centre line, level, and the same size.
            asymmetry = abs((left.cx + right.cx) / 2 - face.cx) / face.w
            cost = asymmetry + abs(left.cy - right.cy) / face.h + abs(left.w - right.w) / face.w + abs(spread - 0.42)
            if best is None or cost < best[0]:
                best = (cost, [left, right])
    if best is not None:
        return best[1]
    if eyes:
        return [min(eyes, key=lambda e: abs(e.cy - (face.y + 0.38 * face.h)))]
    return []


def _photo_detection(small: RGBFrame, box: Box, eyes: list[Box]) -> _Detection:
    """Complete a Haar face: missing eyes and the mouth come from typical proportions of the Haar box."""
    if len(eyes) == 2:
        left, right = eyes
        method = "haar+eyes"
    elif len(eyes) == 1:
        # Mirror the one eye seen about the face's centre line.
        seen = eyes[0]
        mirrored = _mirror_eye(small, seen, Box(2 * box.cx - seen.cx - seen.w / 2, seen.y, seen.w, seen.h))
        left, right = sorted((seen, mirrored), key=lambda e: e.cx)
        method = "haar+one-eye-mirrored"
    else:
        eye_w, eye_h = 0.24 * box.w, 0.14 * box.h
        eye_y = box.y + 0.38 * box.h - eye_h / 2
        left = Box(box.x + 0.31 * box.w - eye_w / 2, eye_y, eye_w, eye_h)
        right = Box(box.x + 0.69 * box.w - eye_w / 2, eye_y, eye_w, eye_h)
        method = "haar+eyes-estimated"
    # The smile cascade fires all over faces; the mouth sits below the eyes' midpoint, perpendicular to the
    # eye line, about one interocular distance away (and follows a tilted head that way).
    dx, dy = right.cx - left.cx, right.cy - left.cy
    interocular = max(math.hypot(dx, dy), 1.0)
    nx, ny = -dy / interocular, dx / interocular  # unit normal pointing down the face
    mouth_cx = (left.cx + right.cx) / 2 + nx * 0.95 * interocular
    mouth_cy = (left.cy + right.cy) / 2 + ny * 0.95 * interocular
    mouth_w, mouth_h = 0.9 * interocular, 0.35 * interocular
    mouth = Box(mouth_cx - mouth_w / 2, mouth_cy - mouth_h / 2, mouth_w, mouth_h)
    chin_y = box.y + 1.08 * box.h
    face = Face(
        box=box,
        kind="photo",
        left_eye=left,
        right_eye=right,
        mouth=mouth,
        neck=(box.cx, chin_y + 0.12 * box.h),
    )
    return _Detection(face, method + "+mouth-estimated", chin_y, skin_rgb=_cheek_colour(small, box))


# Where the other eye is looked for around its mirrored place (shares of the eye's width and height), and how
# alike (normalised correlation) the mirror image of the eye seen must be there to move it.
MIRROR_SEARCH_W: Final = 0.6
MIRROR_SEARCH_H: Final = 0.4
MIRROR_LIKENESS: Final = 0.5


def _mirror_eye(small: RGBFrame, seen: Box, estimate: Box) -> Box:
    """The eye the cascade missed: where the mirror image of the one it saw matches best near `estimate` (its
    place mirrored about the face box's centre line, which is off when the head is turned a little), else
    `estimate`."""
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    sx0, sy0 = max(0, round(seen.x)), max(0, round(seen.y))
    sx1, sy1 = min(width, round(seen.x + seen.w)), min(height, round(seen.y + seen.h))
    if sx1 - sx0 < 6 or sy1 - sy0 < 6:
        return estimate
    template = cv2.flip(np.ascontiguousarray(grey[sy0:sy1, sx0:sx1]), 1)
    wx0 = max(0, round(estimate.x - MIRROR_SEARCH_W * estimate.w))
    wy0 = max(0, round(estimate.y - MIRROR_SEARCH_H * estimate.h))
    wx1 = min(width, round(estimate.x + (1 + MIRROR_SEARCH_W) * estimate.w))
    wy1 = min(height, round(estimate.y + (1 + MIRROR_SEARCH_H) * estimate.h))
    window = grey[wy0:wy1, wx0:wx1]
    if window.shape[0] <= template.shape[0] or window.shape[1] <= template.shape[1]:
        return estimate
    scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    if best < MIRROR_LIKENESS:
        return estimate
    return Box(float(wx0 + bx), float(wy0 + by), estimate.w, estimate.h)


def _cheek_colour(small: RGBFrame, box: Box) -> tuple[float, float, float] | None:
    """Median RGB of the two cheeks (below the eyes, beside the nose), where a Haar face shows skin."""
    patches = []
    for x_share in (0.2, 0.62):
        x0, x1 = round(box.x + x_share * box.w), round(box.x + (x_share + 0.18) * box.w)
        y0, y1 = round(box.y + 0.55 * box.h), round(box.y + 0.7 * box.h)
        patch = small[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)].reshape(-1, 3)
        patches.append(patch)
    pixels = np.concatenate(patches)  # (N, 3)
    if len(pixels) < 4:
        return None
    r, g, b = np.median(pixels, axis=0)
    return float(r), float(g), float(b)


def _colourfulness(rgb: RGBFrame) -> float:
    """Mean chroma (OpenCV Lab units); a greyscale photo scores ~0."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)  # (h, w, 3)
    return float(np.mean(np.hypot(lab[..., 1] - 128.0, lab[..., 2] - 128.0)))


def _skin_share(rgb: RGBFrame, box: Box) -> float:
    """Share of the face box's central part within the usual YCrCb skin range (any complexion)."""
    x0, y0 = max(0, round(box.x + 0.2 * box.w)), max(0, round(box.y + 0.25 * box.h))
    x1, y1 = round(box.x + 0.8 * box.w), round(box.y + 0.85 * box.h)
    patch = rgb[y0:y1, x0:x1]
    if patch.size == 0:
        return 0.0
    ycrcb = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2YCrCb)  # (h, w, 3)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    return float(np.mean((cr >= 133) & (cr <= 180) & (cb >= 77) & (cb <= 135)))
