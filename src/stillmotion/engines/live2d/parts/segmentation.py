"""Regions: soft subject, hair and body masks of the working copy.

With a face: a GrabCut-like segmentation seeded from it (face core and the chest below the chin = subject,
head and torso = likely subject, the frame's edges away from them = background): colour histograms refined
by EM, a guided filter, then a marker watershed; blurred to soft masks. (OpenCV's own GrabCut costs 140-300
ms at this size here, far over budget.) Hair is subject around and above the face that is not
skin-coloured, plus, in drawings, locks of the same colour hanging below; body is subject below the chin.

No face: the same segmentation seeded from a centre ellipse when its result looks like one object, else a
soft centre ellipse.
"""

from __future__ import annotations

import math
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts.geometry import _ellipse, _rectangle, _soften
from stillmotion.engines.live2d.parts.types import _F32, RGBFrame, _Bool, _Detection

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
# Below this colour likelihood ratio (subject core / (core + outside)) a pixel the flood gave the subject, near
# its edge, goes back to the background (bricks on brick-red hair: ~0.1; the subject's own colours: > 0.5).
_COLOUR_VETO: Final = 0.25


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
    segmented = _segment(seg, seeds, kind=detection.face.kind)
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
    segmented = _segment(seg, seeds, kind="photo")
    if segmented is None:
        return ellipse, "fallback"
    subject = _keep_touching(segmented, centre > 0, centre > 0)
    share = float(subject.mean())
    overlap = float(subject[centre > 0].mean())
    # Noise, flat fills and busy scenes give slivers or the whole frame: the ellipse is the better guess.
    if not 0.06 <= share <= 0.8 or overlap < 0.3:
        return ellipse, "fallback"
    return _soften(subject), "fallback+segment"


def _segment(seg: RGBFrame, seeds: npt.NDArray[np.uint8], *, kind: str) -> _Bool | None:
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
        p_subject, p_background = _colour_likelihood(codes, posterior), _colour_likelihood(codes, 1.0 - posterior)
        posterior = prior * p_subject / (prior * p_subject + (1.0 - prior) * p_background)
    grey = cv2.cvtColor(seg, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0  # (h, w)
    smooth = _guided_filter(grey, posterior.reshape(height, width).astype(np.float32), max(2, round(blur * 2)), 1e-2)
    markers = np.zeros((height, width), np.int32)  # 0 unknown, 1 background, 2 subject
    confidence = _MARKER_CONFIDENCE[kind]
    markers[(smooth < confidence) | (seeds == _SURE_BACKGROUND)] = 1
    markers[(smooth > 1.0 - confidence) | (seeds == _SURE_SUBJECT)] = 2
    if not (markers == 1).any() or not (markers == 2).any():
        return None  # no evidence for one side (a flat or featureless picture): nothing to segment
    # The undecided band goes to whichever side reaches it first along the weakest image gradient.
    flooded = cv2.watershed(np.ascontiguousarray(seg[..., ::-1]), markers)
    subject: _Bool = (flooded == 2) | ((flooded == -1) & (smooth > 0.5))
    return _edge_by_colour(subject, codes, seeds)


def _colour_likelihood(codes: npt.NDArray[np.int32], weights: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """`(n,)` each pixel's colour code's probability under the histogram of `weights` over `codes` (4096
    bins, each given half a pixel so that no colour is impossible)."""
    histogram = np.bincount(codes, weights=weights, minlength=4096) + 0.5
    return np.asarray((histogram / histogram.sum())[codes], dtype=np.float64)


def _edge_by_colour(subject: _Bool, codes: npt.NDArray[np.int32], seeds: npt.NDArray[np.uint8]) -> _Bool:
    """`subject` with the band along its edge judged once more, by colour alone: histograms of its core (the
    result, eroded) against what lies outside it. The flood fills whole cells of a textured background next
    to the subject (bricks between mortar lines): it stops only at edges, and a wall is all edges."""
    height, width = subject.shape
    reach = max(3, round(0.03 * min(height, width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    core = np.asarray(cv2.erode(subject.astype(np.uint8), kernel), dtype=bool)
    outside = ~np.asarray(cv2.dilate(subject.astype(np.uint8), np.ones((3, 3), np.uint8)), dtype=bool)
    if core.sum() < 30 or outside.sum() < 30:
        return subject
    p_core = _colour_likelihood(codes, core.ravel().astype(np.float64))
    p_outside = _colour_likelihood(codes, outside.ravel().astype(np.float64))
    colour = (p_core / (p_core + p_outside)).reshape(height, width).astype(np.float32)
    colour = np.asarray(cv2.GaussianBlur(colour, (0, 0), 1.0), dtype=np.float32)
    kept: _Bool = subject & (core | (colour >= _COLOUR_VETO) | (seeds == _SURE_SUBJECT))
    return kept


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

    skin, furred = _skin_or_fur(seg, face_core > 0, detection)
    hair = (region > 0) * subject * (1.0 - skin)  # (h, w)
    hair = hair * _hair_not_background(seg, hair, subject, region > 0, top_y=box.y)
    if face.kind == "drawn" and not furred:  # an animal's fur body is no long locks
        hair = np.maximum(hair, _hanging_hair(seg, subject, hair, detection))
    hair = cv2.GaussianBlur(hair.astype(np.float32), (0, 0), 1.0)
    return np.clip(hair, 0.0, 1.0).astype(np.float32)


# Colour histograms for telling hair from the background around it: bins per channel, and the floor that
# keeps an empty bin from deciding alone.
_HAIR_BINS: Final = 8
_HAIR_HIST_FLOOR: Final = 1e-3


def _hair_not_background(
    seg: RGBFrame, hair: npt.NDArray[np.floating[Any]], subject: _F32, band: _Bool, *, top_y: float
) -> _F32:
    """`(h, w)` how likely each pixel's colour is hair rather than the background beside it: colour
    histograms of the surest hair (above the face box's top) and of the background around the band, and
    their likelihood ratio. A segmentation that leaks into a wall of brick-red or a dark doorway beside the
    hair takes those pixels for hair; their colour gives them away."""
    height, width = seg.shape[:2]
    crown = (hair > 0.6) & (np.arange(height)[:, None] < top_y)
    near = cv2.dilate(band.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    background = near & (subject < 0.3)
    if crown.sum() < 30 or background.sum() < 30:
        return np.ones((height, width), np.float32)
    bins = (seg.astype(np.int32) * _HAIR_BINS) // 256  # (h, w, 3)
    index = (bins[..., 0] * _HAIR_BINS + bins[..., 1]) * _HAIR_BINS + bins[..., 2]  # (h, w)
    size = _HAIR_BINS**3

    def histogram(mask: _Bool) -> npt.NDArray[np.float64]:
        counts = np.bincount(index[mask], minlength=size).astype(np.float64)
        return np.asarray(counts / counts.sum() + _HAIR_HIST_FLOOR, dtype=np.float64)

    hair_p, background_p = histogram(crown), histogram(background)
    return np.asarray((hair_p / (hair_p + background_p))[index], dtype=np.float32)


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


# Drawn skin is flat paint: this share or more of the pixels of a drawn face (its core; the ring around an eye)
# lie within FLAT_SKIN_DISTANCE (RGB) of its skin colour (two thirds to three quarters on the test drawings).
# Drawn fur (a cat's, a dog's) is textured: a tenth to a fifth near any one colour.
FLAT_SKIN_SHARE: Final = 0.35
FLAT_SKIN_DISTANCE: Final = 20.0


def flat_skin(pixels: npt.NDArray[np.uint8], skin: npt.ArrayLike) -> bool:
    """Whether `(N, 3)` RGB `pixels` of a drawn face are flat paint around the `skin` colour, not fur."""
    if pixels.size == 0:
        return False
    distance = np.linalg.norm(pixels.astype(np.float32) - np.asarray(skin, np.float32), axis=-1)
    return float(np.mean(distance <= FLAT_SKIN_DISTANCE)) >= FLAT_SKIN_SHARE


# Fur's strokes are averaged out over this share of the face's width before skin is told from hair.
FUR_BLUR: Final = 0.12


def _skin_or_fur(seg: RGBFrame, core: _Bool, detection: _Detection) -> tuple[_F32, bool]:
    """How skin-like each pixel is (`_skin_probability`), and whether the face is a drawn face in fur (a
    cat's, a dog's: too little of its core is one flat colour). Fur's strokes of darker and lighter fur are
    averaged out over a patch first: the head's fur is then evenly not skin (the head around the face is its
    hair layers', as a person's hair is), where the strokes made it a patchwork of hair and skin."""
    if detection.face.kind != "drawn" or detection.skin_rgb is None or not core.any():
        return _skin_probability(seg, detection.skin_rgb), False
    if flat_skin(seg[core], detection.skin_rgb):
        return _skin_probability(seg, detection.skin_rgb), False
    size = max(3, round(FUR_BLUR * detection.face.box.w))
    return _skin_probability(np.asarray(cv2.blur(seg, (size, size)), dtype=np.uint8), detection.skin_rgb), True


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
