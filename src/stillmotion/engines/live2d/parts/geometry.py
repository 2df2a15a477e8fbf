"""Geometry helpers shared by the detectors and the segmentation: shrinking the image to the working copy,
upscaling and feathering masks, drawing seed shapes, and scaling a detection back to the full image.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts.types import _F32, Box, Face, Mask, RGBFrame, _Bool, _Detection


def _shrink(image: RGBFrame, *, short_px: int, long_px: int) -> RGBFrame:
    """`image` with its sides at most `short_px` and `long_px` (area-averaged, so thin lines survive)."""
    height, width = image.shape[:2]
    scale = min(short_px / min(height, width), long_px / max(height, width))
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _upscale(mask: _F32, height: int, width: int) -> Mask:
    """`mask` at `(height, width)`, float32 in [0, 1]."""
    if mask.shape == (height, width):
        resized = mask.astype(np.float32)
    else:
        resized = np.asarray(cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    # Blur and bilinear weights are rounded in float32, which can overshoot 1 by an ulp.
    return np.clip(resized, 0.0, 1.0, out=resized)


def _soften(foreground: _Bool) -> _F32:
    # ~1.2 px at the segmentation scale becomes a 3-5 px feather at full size: soft, yet hugging the edge.
    return np.asarray(cv2.GaussianBlur(foreground.astype(np.float32), (0, 0), 1.2), dtype=np.float32)


def _rectangle(canvas: npt.NDArray[np.uint8], top_left: tuple[float, float], bottom_right: tuple[float, float]) -> None:
    height, width = canvas.shape[:2]
    x0, y0 = max(0, round(top_left[0])), max(0, round(top_left[1]))
    x1, y1 = min(width, round(bottom_right[0])), min(height, round(bottom_right[1]))
    canvas[y0:y1, x0:x1] = 1


def _ellipse(canvas: npt.NDArray[np.uint8], centre: tuple[float, float], axes: tuple[float, float], value: int) -> None:
    cv2.ellipse(
        canvas,
        (round(centre[0]), round(centre[1])),
        (max(1, round(axes[0])), max(1, round(axes[1]))),
        0,
        0,
        360,
        value,
        -1,
    )


def _scale_box(box: Box | None, sx: float, sy: float) -> Box | None:
    return None if box is None else Box(box.x * sx, box.y * sy, box.w * sx, box.h * sy)


def _scale_detection(detection: _Detection, sx: float, sy: float) -> _Detection:
    face = detection.face
    scaled_box = _scale_box(face.box, sx, sy)
    assert scaled_box is not None
    neck = None if face.neck is None else (face.neck[0] * sx, face.neck[1] * sy)
    scaled = Face(
        box=scaled_box,
        kind=face.kind,
        left_eye=_scale_box(face.left_eye, sx, sy),
        right_eye=_scale_box(face.right_eye, sx, sy),
        mouth=_scale_box(face.mouth, sx, sy),
        neck=neck,
    )
    return _Detection(scaled, detection.method, detection.chin_y * sy, detection.skin_rgb)
