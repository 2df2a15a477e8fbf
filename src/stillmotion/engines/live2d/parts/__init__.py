"""Finding the parts of a still image (face, eyes, mouth, hair, body, background) without downloaded weights.

Contract (the renderer relies on it):
* `find_parts(image)` takes the first frame as rendered, `(H, W, 3)` uint8 RGB, and returns boxes in that
  image's pixel coordinates and masks of exactly `(H, W)` float32 in [0, 1], smooth (soft edges).
* "left" / "right" are the viewer's: `left_eye` is the eye nearer the image's left edge.
* It never raises on a real image: when a detector finds nothing, `face` is None and the masks still
  describe a plausible subject (centre-weighted) so that the renderer falls back to whole-subject and
  camera motion.

How (every model ships inside a pip package; nothing is downloaded):
1. Faces are looked for on a small working copy (256 px short side, 512 px long side at most). Photos:
   OpenCV's Haar cascades (`photo.py`). Drawings: a flat-colour heuristic (`drawn.py`) and `animeface`
   (`animeface.py`; optional). Which family goes first depends on how flat the picture's colours are.
2. Regions (`segmentation.py`): a GrabCut-like segmentation of the working copy seeded from the face,
   upscaled to soft masks. Hair is subject around and above the face that is not skin-coloured, plus, in
   drawings, locks of the same colour hanging below; body is subject below the chin.
3. No face: the same segmentation seeded from a centre ellipse when its result looks like one object, else a
   soft centre ellipse.

`types.py` defines `Box`, `Face` and `Parts` (re-exported here); `geometry.py` the resizing, feathering and
drawing helpers the others share.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts.animeface import _detect_anime_face
from stillmotion.engines.live2d.parts.drawn import _detect_drawn_face
from stillmotion.engines.live2d.parts.geometry import _scale_detection, _shrink, _upscale
from stillmotion.engines.live2d.parts.matting import refine_edge
from stillmotion.engines.live2d.parts.photo import _detect_photo_face
from stillmotion.engines.live2d.parts.segmentation import (
    _body,
    _centre_ellipse,
    _hair,
    _lower_part,
    _subject_with_face,
    _subject_without_face,
)
from stillmotion.engines.live2d.parts.types import Box, Face, Mask, Parts, RGBFrame, _Detection

__all__ = ["Box", "Face", "Mask", "Parts", "RGBFrame", "find_parts"]

log = logging.getLogger(__name__)


# Faces are searched, and regions segmented, on a copy this big. Haar costs ~30 ms here (its cost grows with
# the area and the number of scales) and a face under a tenth of the short side (26 px) is too small to animate
# anyway; AnimeFace's smallest window, ~43 px, is 17% of it: enough for a bust (35-60 ms).
_WORK_SHORT_PX: Final = 256
# ...and at most this long, so that a 4:1 panorama costs no more than a portrait.
_WORK_LONG_PX: Final = 512
# A working copy with a side below this holds no detectable face: straight to the no-face segmentation.
_MIN_DETECT_SIDE_PX: Final = 48
# Share of pixels whose Laplacian is ~0: drawings with flat fills score ~0.9, photos 0.1-0.3.
_FLAT_SHARE: Final = 0.55
# The same share inside a face the photo cascade found: drawn faces ~0.5, photographed ones ~0.05.
_FLAT_FACE_SHARE: Final = 0.3


def find_parts(image: RGBFrame) -> Parts:
    """Face, eyes, mouth and soft subject/hair/body/background masks of `(H, W, 3)` uint8 RGB `image`."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"`image` must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"`image` must not be empty, got {width}x{height}")
    image = np.ascontiguousarray(image)
    try:
        return _find_parts(image)
    except Exception:  # a detector failing must not cost the video: the renderer copes without a face
        log.exception("parts detection failed on a %dx%d image; using the centre fallback", width, height)
        subject = _centre_ellipse(height, width)
        return _assemble(width, height, None, subject, np.zeros_like(subject), _lower_part(subject), "fallback")


def _find_parts(image: RGBFrame) -> Parts:
    height, width = image.shape[:2]
    # One small copy serves every detector and the segmentation: area-averaging the full frame is the
    # costliest resize here (~5 ms at 720x1072).
    small = _shrink(image, short_px=_WORK_SHORT_PX, long_px=_WORK_LONG_PX)  # (h, w, 3) RGB
    small_h, small_w = small.shape[:2]
    detection: _Detection | None = None
    if min(small_h, small_w) >= _MIN_DETECT_SIDE_PX:
        detection = _detect_face(image, small)

    # A drawing's edges are re-read at full size from its colours (`matting.py`): flat fills on either side of
    # a hard outline. A photo keeps the segmentation's soft ramp: loose hair and blur mix colours over many
    # pixels, and a hard cut there leaves a thin outline behind when the hair moves.
    scale = max(height / small_h, width / small_w)

    def edge_of(mask: Mask, drawn: bool) -> Mask:
        return refine_edge(image, mask, scale=scale) if drawn else mask

    if detection is None:
        drawn = _flat_share(np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.uint8)) >= _FLAT_SHARE
        subject_small, method = _subject_without_face(small)
        subject = _upscale(subject_small, height, width)
        body = _upscale(_lower_part(subject_small), height, width)
        edge = edge_of(subject, drawn)
        return _assemble(width, height, None, edge, np.zeros_like(subject), _follow(body, subject, edge), method)

    drawn = detection.face.kind == "drawn"
    subject_small = _subject_with_face(small, detection)
    hair_small = _hair(small, subject_small, detection)
    body_small = _body(subject_small, hair_small, detection.chin_y, detection.face.box.h)
    subject = _upscale(subject_small, height, width)
    edge = edge_of(subject, drawn)
    hair = _upscale(hair_small, height, width)
    return _assemble(
        width,
        height,
        _scale_detection(detection, width / small_w, height / small_h).face,
        edge,
        # The hair's own edges (against the skin: the tips of bangs) are re-read too.
        edge_of(hair, drawn),
        _follow(_upscale(body_small, height, width), subject, edge),
        detection.method + "+segment",
    )


def _follow(part: Mask, subject: Mask, edge: Mask) -> Mask:
    """`part` (hair, body: a share of `subject`) given the subject's refined edge `edge`: the same share of
    the subject where the two differ, so that the part's outer edge is the subject's."""
    changed = edge != subject
    if not bool(changed.any()):
        return part
    out = part.copy()
    share = np.clip(part[changed] / np.maximum(subject[changed], 1e-3), 0.0, 1.0)
    out[changed] = share * edge[changed]
    return out


def _assemble(width: int, height: int, face: Face | None, subject: Mask, hair: Mask, body: Mask, method: str) -> Parts:
    """Parts from full-size masks already in [0, 1]; hair and body are kept inside the subject."""
    return Parts(
        width,
        height,
        face,
        subject,
        np.minimum(hair, subject),
        np.minimum(body, subject),
        np.subtract(1.0, subject, dtype=np.float32),
        method,
    )


# ---------------------------------------------------------------------------------------------------------
# Face detection


def _detect_face(image: RGBFrame, small: RGBFrame) -> _Detection | None:
    """The most plausible face in `small`'s coordinates, or None. `image` is the full-size original."""
    grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.uint8)  # (h, w)

    def photo() -> _Detection | None:
        return _detect_photo_face(image, small, grey)

    def anime() -> _Detection | None:
        return _detect_anime_face(small)

    def drawn() -> _Detection | None:
        return _detect_drawn_face(small)

    # Detectors are tried in turn until one finds a face, the likeliest family first and, within it, the
    # cheapest first: the flat-colour heuristic costs ~10 ms, AnimeFace 30-110 ms (more on busy pictures)
    # but also knows shaded and line-art faces. The heuristic is pointless on a photo; AnimeFace still
    # covers painted illustrations there.
    drawing = _flat_share(grey) >= _FLAT_SHARE
    order: list[Callable[[], _Detection | None]] = [drawn, anime, photo] if drawing else [photo, anime]
    for detector in order:
        found = detector()
        if found is None:
            continue
        if detector is photo and _flat_share(_crop(grey, found.face.box)) >= _FLAT_FACE_SHARE:
            # A textured background can pull a drawing's share under the bar, and the photo cascade
            # does find drawn faces, with eye boxes and an eyelid model made for photos. The face's own
            # flatness tells them apart (drawn faces ~0.5, photographed ones ~0.05).
            return drawn() or anime() or found
        return found
    return None


def _crop(grey: npt.NDArray[np.uint8], box: Box) -> npt.NDArray[np.uint8]:
    height, width = grey.shape
    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    x1, y1 = min(width, int(box.x + box.w)), min(height, int(box.y + box.h))
    return grey[y0 : max(y0 + 1, y1), x0 : max(x0 + 1, x1)]


def _flat_share(grey: npt.NDArray[np.uint8]) -> float:
    laplacian = cv2.Laplacian(grey, cv2.CV_16S, ksize=1)  # (h, w) int16
    return float(np.mean(np.abs(laplacian) <= 1))
