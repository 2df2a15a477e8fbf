"""Faces in flat-colour drawings, by a heuristic: a skin-coloured fill holding two dark, level pupils, the
mouth a hole in the fill below them. Cheap (~10 ms), so it goes first on pictures with flat colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts.types import _MIN_FACE_SHARE, Box, Face, RGBFrame, _Bool, _Detection


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
