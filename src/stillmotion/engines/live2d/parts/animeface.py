"""Faces in drawings by `animeface` (AnimeFace's MLP, bundled in its Linux x86_64 wheels; optional).

Its C extension reads pixels straight out of a Pillow 4.2 image struct, which today's Pillow no longer has;
this shim hands it that very struct built with ctypes instead (after checking that the trick is safe on this
interpreter and this build of the package), and grows AnimeFace's brows-to-mouth box over the skin fill
around it.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import importlib.metadata
import logging
import platform
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final

import cv2
import numpy as np

from stillmotion.engines.live2d.parts.drawn import _face_box_from_blob
from stillmotion.engines.live2d.parts.types import Box, Face, RGBFrame, _Detection

log = logging.getLogger(__name__)


class _LegacyImaging(ctypes.Structure):
    """Pillow 4.2's `ImagingMemoryInstance`, the struct AnimeFace's extension was compiled against.

    `animeface._nvxs.detect` reads the pixels straight out of a Pillow image object's C struct, and Pillow
    has since changed that struct (so `animeface.detect` silently finds nothing with today's Pillow). Handing
    it this struct instead feeds it exactly the layout it expects, without Pillow at all.
    """

    _fields_ = (
        ("mode", ctypes.c_char * 7),
        ("type", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bands", ctypes.c_int),
        ("xsize", ctypes.c_int),
        ("ysize", ctypes.c_int),
        ("palette", ctypes.c_void_p),
        ("image8", ctypes.c_void_p),
        ("image32", ctypes.c_void_p),
        ("image", ctypes.c_void_p),
        ("block", ctypes.c_void_p),
        ("blocks", ctypes.c_void_p),
        ("pixelsize", ctypes.c_int),
        ("linesize", ctypes.c_int),
        ("destroy", ctypes.c_void_p),
    )


_ANIMEFACE_VERSION: Final = "2.0.3"
# Offset of the Imaging pointer in Pillow's `ImagingObject`: just after PyObject_HEAD.
_PYOBJECT_HEAD_BYTES: Final = 2 * ctypes.sizeof(ctypes.c_void_p)


@functools.cache
def _animeface_detect() -> Callable[[Any], Any] | None:
    """AnimeFace's raw `detect`, or None where the package is missing or this trick cannot be proven safe."""
    try:
        version = importlib.metadata.version("animeface")
        nvxs: ModuleType = importlib.import_module("animeface._nvxs")
    except (ImportError, importlib.metadata.PackageNotFoundError):
        return None
    if version != _ANIMEFACE_VERSION:
        # The struct below mirrors what this very build was compiled against; another may differ.
        log.warning("animeface %s disabled: only %s's C interface is known here", version, _ANIMEFACE_VERSION)
        return None
    if not str(getattr(nvxs, "__file__", "")).endswith((".so", ".pyd")):
        return None  # the pure-Python stub that only raises
    if platform.python_implementation() != "CPython" or sys.maxsize <= 2**32:
        return None
    # The extension takes the object it is given as Pillow's `ImagingObject` and follows the pointer stored
    # right after the object header. A ctypes instance stores its buffer's address exactly there (`b_ptr`
    # of CDataObject); check that on this interpreter before ever calling into C with it.
    probe = _LegacyImaging()
    stored = ctypes.c_void_p.from_address(id(probe) + _PYOBJECT_HEAD_BYTES).value
    if stored != ctypes.addressof(probe):
        log.warning("animeface disabled: this Python's ctypes object layout is not the one it relies on")
        return None
    detect: Callable[[Any], Any] = nvxs.detect
    return detect


def _detect_anime_face(small: RGBFrame) -> _Detection | None:
    """AnimeFace's most likely face in `small`'s coordinates."""
    detect = _animeface_detect()
    if detect is None:
        return None
    small_h, small_w = small.shape[:2]
    rgbx = np.zeros((small_h, small_w, 4), np.uint8)  # the struct's RGB rows are 4 bytes a pixel
    rgbx[..., :3] = small
    row_bytes = small_w * 4
    rows = (ctypes.c_void_p * small_h)(*(rgbx.ctypes.data + y * row_bytes for y in range(small_h)))
    pixels = ctypes.cast(rows, ctypes.c_void_p).value
    legacy = _LegacyImaging(
        mode=b"RGB", type=0, depth=8, bands=3, xsize=small_w, ysize=small_h,
        image=pixels, image32=pixels, pixelsize=4, linesize=row_bytes,
    )  # fmt: skip
    results = detect(legacy)
    del rows, rgbx  # kept alive until here: the C code reads them during `detect`
    faces = [r for r in results if float(r["likelihood"]) >= 0.5]
    if not faces:
        return None
    best = max(faces, key=lambda r: float(r["likelihood"]) * r["face_box"][2] * r["face_box"][3])

    def box(key: str) -> Box:
        x, y, w, h = (float(v) for v in best[key])
        return Box(x, y, w, h)

    face_box = box("face_box")
    # AnimeFace's "left eye" is the character's own left; the contract wants the viewer's.
    left, right = sorted((box("left_eye_box"), box("right_eye_box")), key=lambda e: e.cx)
    skin = tuple(float(v) for v in best["skin_color"])
    chin_x, chin_y = (float(v) for v in best["chin_point"])
    # Its face box spans brows to mouth; the skin blob around it gives the whole face (sides and chin).
    grown = _skin_blob_box(small, face_box, (skin[0], skin[1], skin[2]))
    if grown is not None:
        face_box = grown
        chin_y = max(chin_y, grown.y + grown.h)
    face = Face(
        box=face_box,
        kind="drawn",
        left_eye=left,
        right_eye=right,
        mouth=box("mouth_box"),
        neck=(chin_x, chin_y + 0.08 * face_box.h),
    )
    return _Detection(face, "animeface", chin_y, (skin[0], skin[1], skin[2]))


def _skin_blob_box(rgb: RGBFrame, core: Box, skin_rgb: tuple[float, float, float]) -> Box | None:
    """The face ellipse's box, grown from `core` over the flat skin fill around it (drawings only)."""
    height, width = rgb.shape[:2]
    margin = 0.8 * max(core.w, core.h)
    x0, y0 = max(0, int(core.x - margin)), max(0, int(core.y - margin))
    x1, y1 = min(width, int(core.x + core.w + margin)), min(height, int(core.y + core.h + margin))
    window = rgb[y0:y1, x0:x1].astype(np.int16)  # (h, w, 3)
    distance = np.abs(window - np.array(skin_rgb, np.int16)).max(axis=2)  # (h, w)
    skin = (distance <= 24).astype(np.uint8)
    count, labels = cv2.connectedComponents(skin, connectivity=4)
    if count <= 1:
        return None
    # The face's fill is the largest skin component overlapping the detector's core box.
    cx0, cy0 = int(core.x) - x0, int(core.y) - y0
    core_labels = labels[max(0, cy0) : max(0, cy0 + int(core.h)), max(0, cx0) : max(0, cx0 + int(core.w))]
    votes = np.bincount(core_labels.ravel(), minlength=count)
    votes[0] = 0
    label = int(np.argmax(votes))
    if votes[label] < 0.2 * core_labels.size:
        return None
    blob = labels == label
    box = _face_box_from_blob(blob, eye_y=core.y + 0.45 * core.h - y0)
    if box is None:
        return None
    return Box(box.x + x0, box.y + y0, box.w, box.h)
