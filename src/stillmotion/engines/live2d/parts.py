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
   OpenCV's Haar cascades (frontal face alt2, then eyes inside the face's upper half; eyes not seen are
   mirrored or estimated from face proportions, the mouth always is). Drawings: a flat-colour heuristic (a
   skin-coloured fill holding two dark pupils, the mouth a hole below them) and `animeface` (AnimeFace's MLP,
   bundled in its Linux x86_64 wheels; optional). Which family goes first depends on how flat the picture's
   colours are.
2. Regions: a GrabCut-like segmentation of the working copy seeded from the face (face core and the chest
   below the chin = subject, head and torso = likely subject, the frame's edges away from them =
   background): colour histograms refined by EM, a guided filter, then a marker watershed; blurred and
   upscaled to soft masks. (OpenCV's own GrabCut costs 140-300 ms at this size here, far over budget.) Hair
   is subject around and above the face that is not skin-coloured, plus, in drawings, locks of the same
   colour hanging below; body is subject below the chin.
3. No face: the same segmentation seeded from a centre ellipse when its result looks like one object, else a
   soft centre ellipse.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import importlib.metadata
import logging
import math
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.float32]  # (H, W) float32 in [0, 1]
RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
_Bool = npt.NDArray[np.bool_]
_F32 = npt.NDArray[np.float32]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Box:
    x: float  # left edge, px
    y: float  # top edge, px
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Face:
    box: Box
    kind: Literal["photo", "drawn"]  # which detector found it
    left_eye: Box | None = None
    right_eye: Box | None = None
    mouth: Box | None = None
    neck: tuple[float, float] | None = None  # (x, y) px: the pivot the head rotates about


@dataclass(frozen=True)
class Parts:
    width: int
    height: int
    face: Face | None
    subject: Mask  # the foreground (person/character/object), 1 inside
    hair: Mask  # hair around the face (0 everywhere when there is no face)
    body: Mask  # subject below the head
    background: Mask  # 1 - subject, kept separately so the renderer need not recompute it
    method: str  # how they were found, e.g. "haar+eyes+mouth-estimated+segment", "animeface+segment", "fallback"


# Faces are searched, and regions segmented, on a copy this big. Haar costs ~30 ms here (its cost grows with
# the area and the number of scales) and a face under a tenth of the short side (26 px) is too small to animate
# anyway; AnimeFace's smallest window, ~43 px, is 17% of it: enough for a bust (35-60 ms).
_WORK_SHORT_PX: Final = 256
# ...and at most this long, so that a 4:1 panorama costs no more than a portrait.
_WORK_LONG_PX: Final = 512
_MIN_FACE_SHARE: Final = 0.1  # smallest face side, as a share of the short side
# A working copy with a side below this holds no detectable face: straight to the no-face segmentation.
_MIN_DETECT_SIDE_PX: Final = 48
# Share of pixels whose Laplacian is ~0: drawings with flat fills score ~0.9, photos 0.1-0.3.
_FLAT_SHARE: Final = 0.55


@dataclass(frozen=True)
class _Detection:
    """A face in some working image's coordinates, with what the detector learnt about its colours."""

    face: Face
    method: str
    chin_y: float  # px, the lowest row of the face
    skin_rgb: tuple[float, float, float] | None = None  # the face's own skin colour, when known


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

    if detection is None:
        subject_small, method = _subject_without_face(small)
        subject = _upscale(subject_small, height, width)
        body = _upscale(_lower_part(subject_small), height, width)
        return _assemble(width, height, None, subject, np.zeros_like(subject), body, method)

    subject_small = _subject_with_face(small, detection)
    hair_small = _hair(small, subject_small, detection)
    body_small = _body(subject_small, hair_small, detection.chin_y, detection.face.box.h)
    return _assemble(
        width,
        height,
        _scale_detection(detection, width / small_w, height / small_h).face,
        _upscale(subject_small, height, width),
        _upscale(hair_small, height, width),
        _upscale(body_small, height, width),
        detection.method + "+segment",
    )


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
        if found is not None:
            return found
    return None


def _flat_share(grey: npt.NDArray[np.uint8]) -> float:
    laplacian = cv2.Laplacian(grey, cv2.CV_16S, ksize=1)  # (h, w) int16
    return float(np.mean(np.abs(laplacian) <= 1))


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
        mirrored = Box(2 * box.cx - seen.cx - seen.w / 2, seen.y, seen.w, seen.h)
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


# AnimeFace -----------------------------------------------------------------------------------------------


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


def _face_box_from_blob(blob: _Bool, *, eye_y: float) -> Box | None:
    """Face box from a face's skin fill: width at the eyes, chin where the fill narrows into the neck."""
    widths = blob.sum(axis=1)  # (h,) skin pixels per row
    rows = np.flatnonzero(widths)
    if len(rows) == 0:
        return None
    eye_row = int(np.clip(round(eye_y), rows[0], rows[-1]))
    band = blob[max(0, eye_row - 2) : eye_row + 3]
    cols = np.flatnonzero(band.any(axis=0))
    if len(cols) < 4:
        return None
    # Eyes are holes in the fill, so span the row from its outermost skin pixels instead of counting them.
    face_w = float(cols[-1] - cols[0] + 1)
    chin = eye_row
    for y in range(eye_row, int(rows[-1]) + 1):
        row_cols = np.flatnonzero(blob[y])
        if len(row_cols) == 0 or row_cols[-1] - row_cols[0] + 1 < 0.4 * face_w:
            break
        chin = y
    # The fill may run on into a skin-coloured neck or background: no drawn chin is that far below the eyes.
    chin = min(chin, round(eye_row + 0.75 * face_w))
    top = min(float(rows[0]), chin - 1.1 * face_w)
    return Box(float(cols[0]), top, face_w, chin - top + 1)


# Flat-colour heuristic -----------------------------------------------------------------------------------


def _detect_drawn_face(small: RGBFrame) -> _Detection | None:
    """A drawn face in `small`'s coordinates: a flat skin-coloured fill holding two dark, level pupils."""
    height, width = small.shape[:2]
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)  # (h, w, 3), H in [0, 180)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    skinlike = ((hue <= 25) | (hue >= 170)) & (sat >= 12) & (sat <= 170) & (val >= 130)
    if skinlike.mean() < 0.005:
        return None
    # Work with the dominant skin tone only, matched within a fixed range, so gradients cannot chain.
    quantised = (small[skinlike] // 8).astype(np.int32)  # (N, 3)
    codes = (quantised[:, 0] << 10) | (quantised[:, 1] << 5) | quantised[:, 2]
    counts = np.bincount(codes, minlength=32768)
    # Dark pieces of the picture (pupils, lashes, line art, dark hair), labelled once for every candidate.
    count, labels, stats, centroids = cv2.connectedComponentsWithStats((val < 90).astype(np.uint8), connectivity=8)
    dark = _Components(count, np.asarray(labels, np.int32), np.asarray(stats, np.int32), np.asarray(centroids, float))
    best: tuple[float, _Detection] | None = None
    for code in np.argsort(counts)[::-1][:3]:
        if counts[code] < 0.003 * height * width:
            break
        tone = np.array([(code >> 10) & 31, (code >> 5) & 31, code & 31], np.int16) * 8 + 4
        mask = (np.abs(small.astype(np.int16) - tone).max(axis=2) <= 20).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        fill_count, fill_labels, fill_stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        for label in range(1, fill_count):
            w, area = int(fill_stats[label][2]), int(fill_stats[label][4])
            if area < 0.006 * height * width or w < _MIN_FACE_SHARE * min(height, width):
                continue
            found = _face_in_blob(fill_labels == label, dark, w)
            if found is not None and (best is None or found.score > best[0]):
                tone_rgb = (float(tone[0]), float(tone[1]), float(tone[2]))
                method = "drawn-heuristic" if found.mouth_seen else "drawn-heuristic+mouth-estimated"
                best = (found.score, _Detection(found.face, method, found.chin_y, skin_rgb=tone_rgb))
    return None if best is None else best[1]


@dataclass(frozen=True)
class _Components:
    """`cv2.connectedComponentsWithStats`'s answer."""

    count: int
    labels: npt.NDArray[np.int32]  # (h, w)
    stats: npt.NDArray[np.int32]  # (count, 5): x, y, w, h, area
    centroids: npt.NDArray[np.float64]  # (count, 2): x, y


@dataclass(frozen=True)
class _BlobFace:
    score: float  # larger for bigger, better matched pupils
    face: Face
    chin_y: float
    mouth_seen: bool  # False: the mouth box is estimated from the eyes and chin


def _face_in_blob(blob: _Bool, dark: _Components, blob_w: int) -> _BlobFace | None:
    """The face when the skin blob holds a pair of level pupils with skin below them, else None."""
    w = blob_w
    hull_mask = np.zeros(blob.shape, np.uint8)
    contours, _ = cv2.findContours(blob.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(hull_mask, [cv2.convexHull(np.concatenate(contours))], -1, 1, -1)
    # Pupils lie wholly inside the face; dark hair reaching in (a fringe's points) continues outside it.
    inside = np.bincount(dark.labels[hull_mask > 0], minlength=dark.count)
    blobs = []
    for label in np.flatnonzero(inside[1:] >= 0.95 * dark.stats[1:, 4]) + 1:
        bw, bh, area = (int(v) for v in dark.stats[label][2:])
        # Pupils are solid and roundish; lash arcs and mouth lines are thin and fill little of their box.
        if area >= 6 and area >= 0.45 * bw * bh and 0.3 <= bw / bh <= 2.5 and bw <= 0.35 * w:
            blobs.append((float(dark.centroids[label][0]), float(dark.centroids[label][1]), bw, bh, area))
    best: tuple[float, tuple[float, float, float, float, float], tuple[float, float, float, float, float]] | None = None
    for i, first in enumerate(blobs):
        for second in blobs[i + 1 :]:
            left, right = sorted((first, second))
            spread = right[0] - left[0]
            if spread < 0.18 * w or spread > 0.8 * w or abs(left[1] - right[1]) > 0.12 * spread:
                continue
            size_ratio = min(left[4], right[4]) / max(left[4], right[4])
            if size_ratio < 0.5:
                continue
            score = size_ratio * (left[4] + right[4]) - abs(left[1] - right[1])
            if best is None or score > best[0]:
                best = (score, left, right)
    if best is None:
        return None
    _, left_pupil, right_pupil = best
    eye_y = (left_pupil[1] + right_pupil[1]) / 2
    spread = right_pupil[0] - left_pupil[0]
    # The fill must be the face's own skin, found right below the eyes; a skin-toned hair or background
    # fill also has the pupils inside its outline, but not its colour on the cheeks.
    cheeks = blob[
        max(0, round(eye_y + 0.4 * spread)) : max(0, round(eye_y + 0.6 * spread)),
        max(0, round(left_pupil[0])) : max(0, round(right_pupil[0])),
    ]
    if cheeks.size == 0 or cheeks.mean() < 0.6:
        return None
    face_box = _face_box_from_blob(blob, eye_y=eye_y)
    if face_box is None or not face_box.x < left_pupil[0] < right_pupil[0] < face_box.x + face_box.w:
        return None
    # Drawn eyes (white, iris, pupil) are far bigger than the pupil the heuristic keys on.
    eye_w, eye_h = 0.45 * spread, 0.6 * spread
    eyes = [Box(px - eye_w / 2, py - eye_h / 2, eye_w, eye_h) for px, py, *_ in (left_pupil, right_pupil)]
    chin_y = face_box.y + face_box.h
    mouth = _drawn_mouth(blob, hull_mask > 0, (left_pupil[0], right_pupil[0]), (eye_y + 0.4 * spread, chin_y))
    mouth_seen = mouth is not None
    if mouth is None:
        mouth_y = eye_y + 0.55 * (chin_y - eye_y)
        mouth = Box(face_box.cx - 0.25 * spread, mouth_y - 0.1 * spread, 0.5 * spread, 0.2 * spread)
    face = Face(
        box=face_box,
        kind="drawn",
        left_eye=eyes[0],
        right_eye=eyes[1],
        mouth=mouth,
        neck=(face_box.cx, chin_y + 0.08 * face_box.h),
    )
    return _BlobFace(float(best[0]), face, chin_y, mouth_seen)


def _drawn_mouth(blob: _Bool, hull: _Bool, xs: tuple[float, float], ys: tuple[float, float]) -> Box | None:
    """The largest hole in the skin between the pupils' columns and between `ys`: a drawn mouth."""
    x0, x1 = max(0, round(xs[0])), max(0, round(xs[1]))
    y0, y1 = max(0, round(ys[0])), max(0, round(ys[1]))
    holes = (hull[y0:y1, x0:x1] & ~blob[y0:y1, x0:x1]).astype(np.uint8)  # (h, w) inside the face, not skin
    if holes.size == 0:
        return None
    count, _, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=8)
    if count <= 1:
        return None
    label = 1 + int(np.argmax(stats[1:, 4]))
    x, y, w, h, area = (int(v) for v in stats[label])
    if area < 3:
        return None
    return Box(float(x + x0), float(y + y0), float(w), float(h))


# ---------------------------------------------------------------------------------------------------------
# Regions


# Seed labels, as in GrabCut: what is known for sure and what is only likely.
_SURE_BACKGROUND: Final = 0
_SURE_SUBJECT: Final = 1
_MAYBE_BACKGROUND: Final = 2
_MAYBE_SUBJECT: Final = 3
# Prior probability of "subject" for each seed label, before colour is looked at.
_SEED_PRIOR: Final = np.array([0.02, 0.98, 0.3, 0.65], np.float32)
# How sure the colour evidence must be to plant a watershed marker. Flat drawings have clean edges, so only
# near-certain colours seed and the edges decide the rest (a white shirt on a white wall splits at its
# outline); photo textures are full of edges, so the colour evidence must carry more of the decision.
_MARKER_CONFIDENCE: Final = {"drawn": 0.1, "photo": 0.25}


def _subject_with_face(seg: RGBFrame, detection: _Detection) -> _F32:
    """Segment seeded from the face: face core and the chest below the chin are subject, head and torso
    likely subject, the border away from them background."""
    height, width = seg.shape[:2]
    box = detection.face.box
    neck_x = detection.face.neck[0] if detection.face.neck else box.cx
    chin = detection.chin_y
    seeds = np.full((height, width), _MAYBE_BACKGROUND, np.uint8)
    head = np.zeros((height, width), np.uint8)
    # Drawn hair is voluminous; a photo's Haar box already spans the cheeks, and hair adds less beside it.
    spread = 0.45 if detection.face.kind == "drawn" else 0.3
    _ellipse(head, (box.cx, box.cy - 0.1 * box.h), (0.5 * box.w + spread * box.w, 0.5 * box.h + 0.45 * box.w), 1)
    torso_mask = np.zeros((height, width), np.uint8)
    torso = np.array(
        [
            (neck_x - 0.5 * box.w, chin),
            (neck_x + 0.5 * box.w, chin),
            (neck_x + 1.5 * box.w, chin + 1.2 * box.h),
            (neck_x + 1.6 * box.w, height + 1.0),
            (neck_x - 1.6 * box.w, height + 1.0),
            (neck_x - 1.5 * box.w, chin + 1.2 * box.h),
        ]
    )
    cv2.fillPoly(torso_mask, [np.round(torso).astype(np.int32)], 1)
    likely = head | torso_mask
    seeds[likely > 0] = _MAYBE_SUBJECT
    # The frame's edges are background, except where the head reaches them or the torso leaves the frame at
    # the bottom. The sides stay background beside the torso: a background seen only inside the torso's rough
    # outline would otherwise be learnt as clothing.
    border = max(2, round(0.025 * min(height, width)))
    edge = np.zeros((height, width), bool)
    edge[:border], edge[-border:], edge[:, :border], edge[:, -border:] = True, True, True, True
    edge[-border:, border:-border] = torso_mask[-border:, border:-border] == 0
    edge &= head == 0
    seeds[edge] = _SURE_BACKGROUND
    core = np.zeros((height, width), np.uint8)
    _ellipse(core, (box.cx, box.cy + 0.05 * box.h), (0.33 * box.w, 0.36 * box.h), 1)
    # What lies straight below a chin is neck and then chest in nearly every portrait; seeding it lets the
    # colour model learn the clothes, which share no colour with the face.
    _rectangle(core, (neck_x - 0.12 * box.w, chin - 0.05 * box.h), (neck_x + 0.12 * box.w, chin + 0.4 * box.h))
    _rectangle(core, (neck_x - 0.4 * box.w, chin + 0.35 * box.h), (neck_x + 0.4 * box.w, chin + 1.2 * box.h))
    seeds[core > 0] = _SURE_SUBJECT
    segmented = _segment(seg, seeds, confidence=_MARKER_CONFIDENCE[detection.face.kind])
    subject = likely > 0 if segmented is None else segmented
    subject = _keep_touching(subject, core > 0, likely > 0) | (core > 0)
    return _soften(subject)


def _subject_without_face(seg: RGBFrame) -> tuple[_F32, str]:
    """Segment seeded from a centre ellipse if the answer looks like one central object, else the soft
    centre ellipse itself."""
    height, width = seg.shape[:2]
    ellipse = _centre_ellipse(height, width)
    if min(height, width) < 16:
        return ellipse, "fallback"
    seeds = np.full((height, width), _MAYBE_BACKGROUND, np.uint8)
    centre = np.zeros((height, width), np.uint8)
    _ellipse(centre, (width / 2, height / 2), (0.3 * width, 0.33 * height), 1)
    seeds[centre > 0] = _MAYBE_SUBJECT
    border = max(2, round(0.03 * min(height, width)))
    seeds[:border], seeds[-border:], seeds[:, :border], seeds[:, -border:] = (_SURE_BACKGROUND,) * 4
    segmented = _segment(seg, seeds, confidence=_MARKER_CONFIDENCE["photo"])
    if segmented is None:
        return ellipse, "fallback"
    subject = _keep_touching(segmented, centre > 0, centre > 0)
    share = float(subject.mean())
    overlap = float(subject[centre > 0].mean())
    # Noise, flat fills and busy scenes give slivers or the whole frame: the ellipse is the better guess.
    if not 0.06 <= share <= 0.8 or overlap < 0.3:
        return ellipse, "fallback"
    return _soften(subject), "fallback+segment"


def _segment(seg: RGBFrame, seeds: npt.NDArray[np.uint8], *, confidence: float) -> _Bool | None:
    """Subject pixels from seed labels: colour posterior -> edge-aware smoothing -> marker watershed.

    This does GrabCut's job (colour models learnt from the seeds, boundaries snapped to edges) in ~10 ms at
    224 px, where OpenCV's GrabCut takes 140-300 ms for one or two iterations on this CPU.
    """
    height, width = seg.shape[:2]
    quantised = (seg // 16).astype(np.int32)  # (h, w, 3), 16 levels a channel
    codes = ((quantised[..., 0] << 8) | (quantised[..., 1] << 4) | quantised[..., 2]).ravel()  # (h*w,)
    blur = max(1.0, 0.015 * min(height, width))
    prior = cv2.GaussianBlur(_SEED_PRIOR[seeds], (0, 0), blur).ravel()  # (h*w,) float32
    posterior = prior
    # A few rounds of EM on two colour histograms: each round's soft labels re-weight the next histograms,
    # which pulls background colours out of the roughly drawn head and torso regions.
    for _ in range(3):
        subject_hist = np.bincount(codes, weights=posterior, minlength=4096) + 0.5
        background_hist = np.bincount(codes, weights=1.0 - posterior, minlength=4096) + 0.5
        p_subject = (subject_hist / subject_hist.sum())[codes]
        p_background = (background_hist / background_hist.sum())[codes]
        posterior = prior * p_subject / (prior * p_subject + (1.0 - prior) * p_background)
    grey = cv2.cvtColor(seg, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0  # (h, w)
    smooth = _guided_filter(grey, posterior.reshape(height, width).astype(np.float32), max(2, round(blur * 2)), 1e-2)
    markers = np.zeros((height, width), np.int32)  # 0 unknown, 1 background, 2 subject
    markers[(smooth < confidence) | (seeds == _SURE_BACKGROUND)] = 1
    markers[(smooth > 1.0 - confidence) | (seeds == _SURE_SUBJECT)] = 2
    if not (markers == 1).any() or not (markers == 2).any():
        return None  # no evidence for one side (a flat or featureless picture): nothing to segment
    # The undecided band goes to whichever side reaches it first along the weakest image gradient.
    flooded = cv2.watershed(np.ascontiguousarray(seg[..., ::-1]), markers)
    subject: _Bool = (flooded == 2) | ((flooded == -1) & (smooth > 0.5))
    return subject


def _guided_filter(guide: _F32, source: _F32, radius: int, eps: float) -> _F32:
    """He et al.'s guided filter (grey guide): smooths `source` within regions, keeps `guide`'s edges."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(values: npt.NDArray[np.floating[Any]]) -> _F32:
        return np.asarray(cv2.boxFilter(values, -1, size), dtype=np.float32)

    mean_guide, mean_source = mean(guide), mean(source)
    covariance = mean(guide * source) - mean_guide * mean_source
    variance = mean(guide * guide) - mean_guide * mean_guide
    slope = covariance / (variance + eps)
    offset = mean_source - slope * mean_guide
    return np.asarray(np.clip(mean(slope) * guide + mean(offset), 0.0, 1.0), dtype=np.float32)


def _keep_touching(foreground: _Bool, anchor: _Bool, prior: _Bool) -> _Bool:
    """Drop the segmentation's stray islands: keep the parts touching `anchor`, or lying mostly inside `prior`."""
    count, labels = cv2.connectedComponents(foreground.astype(np.uint8), connectivity=8)
    if count <= 1:
        return foreground
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=count)
    touching = np.bincount(flat[anchor.ravel()], minlength=count)
    inside = np.bincount(flat[prior.ravel()], minlength=count)
    keep = (touching > 0) | ((inside > 0.5 * sizes) & (sizes > 0.002 * foreground.size))
    keep[0] = False
    kept: _Bool = keep[labels]
    # Close pinholes (eye highlights, buttons) so the subject warps as one piece.
    closed = cv2.morphologyEx(kept.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    result: _Bool = closed > 0
    return result


def _hair(seg: RGBFrame, subject: _F32, detection: _Detection) -> _F32:
    """Subject in a band around and above the face that is not skin-coloured."""
    height, width = seg.shape[:2]
    face = detection.face
    box = face.box
    eye_y = box.y + 0.4 * box.h
    if face.left_eye is not None and face.right_eye is not None:
        eye_y = (face.left_eye.cy + face.right_eye.cy) / 2
    region = np.zeros((height, width), np.uint8)
    _ellipse(region, (box.cx, box.cy - 0.05 * box.h), (0.5 * box.w + 0.5 * box.w, 0.5 * box.h + 0.55 * box.w), 1)
    region[max(0, math.ceil(detection.chin_y)) :] = 0
    # The face itself below the brows is skin and features (eyes, mouth), never hair.
    face_core = np.zeros((height, width), np.uint8)
    _ellipse(face_core, (box.cx, box.cy), (0.47 * box.w, 0.5 * box.h), 1)
    face_core[: max(0, math.floor(eye_y - 0.12 * box.h))] = 0
    region[face_core > 0] = 0

    skin = _skin_probability(seg, detection.skin_rgb)
    hair = (region > 0) * subject * (1.0 - skin)  # (h, w)
    if face.kind == "drawn":
        hair = np.maximum(hair, _hanging_hair(seg, subject, hair, detection))
    hair = cv2.GaussianBlur(hair.astype(np.float32), (0, 0), 1.0)
    return np.clip(hair, 0.0, 1.0).astype(np.float32)


def _hanging_hair(seg: RGBFrame, subject: _F32, hair: npt.NDArray[np.floating[Any]], detection: _Detection) -> _F32:
    """Long locks below the chin, for flat drawn hair only: pixels of the hair's own colour beside the body."""
    height, width = seg.shape[:2]
    box = detection.face.box
    sure = hair > 0.6
    if sure.sum() < 10:
        return np.zeros((height, width), np.float32)
    hair_rgb = np.median(seg[sure], axis=0).astype(np.int16)  # (3,)
    close = np.abs(seg.astype(np.int16) - hair_rgb).max(axis=2) <= 24  # (h, w)
    region = np.zeros((height, width), bool)
    top, bottom = max(0, int(box.y)), min(height, int(detection.chin_y + 1.2 * box.h))
    left, right = max(0, int(box.cx - 1.4 * box.w)), min(width, int(box.cx + 1.4 * box.w))
    region[top:bottom, left:right] = True
    candidates = (close & region & (subject > 0.5)).astype(np.uint8)
    # Strands drawn lighter or darker than the fill break it into slivers; closing mends them.
    candidates = np.asarray(cv2.morphologyEx(candidates, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)), np.uint8)
    # Only what is joined to the hair already found: a same-coloured shirt elsewhere stays body.
    count, labels = cv2.connectedComponents(candidates, connectivity=8)
    joined = np.bincount(labels[sure & (candidates > 0)], minlength=count) > 0
    joined[0] = False
    return np.asarray(joined[labels] * subject, dtype=np.float32)


def _skin_probability(seg: RGBFrame, skin_rgb: tuple[float, float, float] | None) -> _F32:
    """How skin-like each pixel is: Lab distance to the face's own skin, lightness counting half."""
    if skin_rgb is None:
        ycrcb = cv2.cvtColor(seg, cv2.COLOR_RGB2YCrCb)
        cr, cb = ycrcb[..., 1], ycrcb[..., 2]
        return ((cr >= 133) & (cr <= 180) & (cb >= 77) & (cb <= 135)).astype(np.float32)
    lab = cv2.cvtColor(seg, cv2.COLOR_RGB2LAB).astype(np.float32)  # (h, w, 3)
    reference = np.array(skin_rgb, np.uint8).reshape(1, 1, 3)
    ref_lab = cv2.cvtColor(reference, cv2.COLOR_RGB2LAB).astype(np.float32).reshape(3)
    delta = lab - ref_lab
    # Shading changes a face's lightness far more than its hue; hair differs in both.
    distance = np.sqrt((0.5 * delta[..., 0]) ** 2 + delta[..., 1] ** 2 + delta[..., 2] ** 2)
    near, far = 10.0, 24.0
    return np.asarray(np.clip((far - distance) / (far - near), 0.0, 1.0), dtype=np.float32)


def _body(subject: _F32, hair: _F32, chin_y: float, face_h: float) -> _F32:
    """Subject below the chin (soft over a tenth of a face), minus hanging hair."""
    height = subject.shape[0]
    rows = np.arange(height, dtype=np.float32)
    ramp = np.clip((rows - chin_y) / max(0.1 * face_h, 1.0), 0.0, 1.0)[:, None]  # (h, 1)
    return np.asarray(subject * ramp * (1.0 - hair), dtype=np.float32)


def _lower_part(subject: _F32) -> _F32:
    """Without a face, the body is the subject's lower part: a ramp from its centre of mass downwards."""
    height = subject.shape[0]
    weights = subject.sum(axis=1)  # (h,)
    total = float(weights.sum())
    rows = np.arange(height, dtype=np.float32)
    centre = float((weights * rows).sum() / total) if total > 0 else height / 2
    ramp = np.clip((rows - centre) / max(0.2 * height, 1.0), 0.0, 1.0)[:, None]  # (h, 1)
    return np.asarray(subject * ramp, dtype=np.float32)


def _centre_ellipse(height: int, width: int) -> _F32:
    """A soft ellipse over the middle of the frame: 1 inside 80% of its radius, 0 beyond 120%."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = np.hypot((xx - (width - 1) / 2) / (0.38 * width), (yy - (height - 1) * 0.52) / (0.42 * height))
    t = np.clip((1.2 - radius) / 0.4, 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t), dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------
# Geometry helpers


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
