"""An animal's tail and ears: found in the subject's outline, wagged and twitched as a rig turns an appendage
about its root.

* The tail is the longest thin part of the subject standing out of its thick body (what an opening by a disc
  5% of the short side wide takes away), away from the head, joined to the body at its root, at least 12% of
  the short side long and three times longer than wide, its tip not level with its root on the floor (a strip
  of floor the segmentation took in is also long and thin, but lies flat).
* Pointed ears are what stands out of the head's round outline above the face (an opening by a disc a tenth
  of the face wide leaves the head and takes the ears); floppy ears hang beside the face, where the drawing's
  parts call them hair. Each is turned about its root: the middle of its base on the head for a pointed ear,
  its top for a floppy one.

An appendage turns as a rotation about its root whose angle grows from nothing at the root to the full angle
at the tip (a tail bends as it wags), linearised (displacement = angle x the perpendicular of the point's
offset from the root), so that it is one basis times one curve (`terms.Term`). Tail and ears are a layer of
their own in front of the rest, as a rig's appendages are separate art meshes (`appendage_matte`,
`layers.with_appendages`): only that layer follows their turns, so the body beside them is neither dragged nor
stretched, and what they uncover is what lies behind (the plate, or the body painted in under them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Curve
from stillmotion.engines.live2d.parts import Parts
from stillmotion.engines.live2d.parts.types import Mask as Matte
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import Grid, Vector, vector
from stillmotion.engines.live2d.rig.terms import FieldContext, Term, TrackMotion, _cycles, _there_and_back

Binary = npt.NDArray[np.bool_]

# The body is what an opening by a disc of this radius (share of the short side) keeps; a tail is thinner.
BODY_RADIUS: Final = 0.05
TAIL_MIN_LENGTH: Final = 0.12  # share of the short side
TAIL_MIN_ELONGATION: Final = 3.0  # length over mean width
# The tip rises above the root by at least this share of the tail's length: a tail held up or out, not a
# strip of floor.
TAIL_MIN_RISE: Final = 0.25
# A pointed ear is what an opening by a disc of this radius (share of the face's width) takes from the head.
EAR_RADIUS: Final = 0.12
EAR_MIN_AREA: Final = 0.01  # share of the face box's area
EAR_BASE_GROWTH: Final = 1.6  # the tip's outline widened from its apex by this much: the whole ear
# Angles at the tip at amplitude 1.0 (radians): a wag swings the tail about 17 degrees either way at 0.7.
TAIL_WAG_RAD: Final = 0.42
EAR_TWITCH_RAD: Final = 0.55
# Past the tip's sweep the lever fades out over this many lengths.
LEVER_FADE: Final = 0.3
SUPPORT_NODES: Final = 2
# The appendage's layer fades in from its root over this share of its length.
ROOT_FEATHER: Final = 0.3
OUTLINE_REACH: Final = 0.006  # share of the short side
# The layers behind keep the part of an appendage this near its root (share of its length).
KEPT_BEHIND: Final = 0.45
TAIL_BEND: Final = 1.3  # the tail's angle grows as (distance from the root / length) ** TAIL_BEND
EAR_BEND: Final = 0.0  # an ear is stiff: it turns whole about its root
WAG_PERIOD_S: Final = 0.6
# A twitch flicks out, holds a moment and eases back: slow enough to be seen at 12 frames a second.
TWITCH_OUT_S: Final = 0.12
TWITCH_HOLD_S: Final = 0.12
TWITCH_BACK_S: Final = 0.25


@dataclass(frozen=True)
class Appendage:
    """A tail or an ear: where it joins the body (`root`, px), how far its farthest point is from there
    (`length`, px), and its pixels (`mask`, full size)."""

    root: tuple[float, float]
    length: float
    mask: Binary


def _disc(radius: int) -> npt.NDArray[np.uint8]:
    size = 2 * max(1, radius) + 1
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)


def _farthest(part: Binary, root: tuple[float, float]) -> float:
    rows, columns = np.nonzero(part)
    return float(np.hypot(columns - root[0], rows - root[1]).max()) if rows.size else 0.0


def find_tail(parts: Parts) -> Appendage | None:
    """The subject's tail (see the module docstring), or None."""
    subject = (parts.subject > 0.5).astype(np.uint8)
    height, width = subject.shape
    short = min(width, height)
    body = cv2.morphologyEx(subject, cv2.MORPH_OPEN, _disc(round(BODY_RADIUS * short)))
    thin = subject.astype(bool) & ~cv2.dilate(body, _disc(3)).astype(bool)
    if parts.face is not None:
        box = parts.face.box  # the head, with its ears and whiskers
        x0, y0 = max(0, int(box.x - 0.4 * box.w)), max(0, int(box.y - 0.4 * box.h))
        thin[y0 : int(box.y + 1.4 * box.h), x0 : int(box.x + 1.4 * box.w)] = False
    count, labels, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=8)
    joint = cv2.dilate(body, _disc(4)).astype(bool)
    best: Appendage | None = None
    for label in range(1, count):
        area = int(stats[label, cv2.CC_STAT_AREA])
        if area < 0.0015 * height * width:
            continue
        part = labels == label
        contact = part & joint
        if not contact.any():
            continue  # not joined to the body: something beside the subject
        rows, columns = np.nonzero(contact)
        root = (float(columns.mean()), float(rows.mean()))
        part_rows, part_columns = np.nonzero(part)
        reach = np.hypot(part_columns - root[0], part_rows - root[1])
        tip = int(reach.argmax())
        length = float(reach[tip])
        if length < TAIL_MIN_LENGTH * short or length / (area / length) < TAIL_MIN_ELONGATION:
            continue
        if root[1] - float(part_rows[tip]) < TAIL_MIN_RISE * length:
            continue
        if best is None or length > best.length:
            best = Appendage(root, length, part)
    return best


def find_ears(parts: Parts) -> list[Appendage]:
    """The ears of an animal's head, left to right in the picture: pointed ones above the face, else floppy
    ones hanging beside it. Empty without a face or without ears."""
    face = parts.face
    if face is None:
        return []
    box = face.box
    subject = (parts.subject > 0.5).astype(np.uint8)
    height, width = subject.shape
    head = cv2.morphologyEx(subject, cv2.MORPH_OPEN, _disc(round(EAR_RADIUS * box.w)))
    above = subject.astype(bool) & ~cv2.dilate(head, _disc(2)).astype(bool)
    # Only above the face's upper third, within a little more than the face's width.
    band = np.zeros_like(above)
    x0, x1 = max(0, int(box.x - 0.15 * box.w)), min(width, int(box.x + 1.15 * box.w))
    band[max(0, int(box.y - 0.8 * box.h)) : int(box.y + 0.3 * box.h), x0:x1] = True
    pointed = _ears_in(above & band, box.w * box.h, root_at="bottom")
    if len(pointed) == 2:
        # What the opening took is the ear's tip; its base goes on down into the head: the ear turns about the
        # middle of that base.
        return [_with_base(ear, subject.astype(bool)) for ear in pointed]
    hair = parts.hair > 0.5
    beside = np.zeros_like(hair)
    rows = slice(int(box.y), min(height, int(box.y + 0.85 * box.h)))
    beside[rows, max(0, int(box.x - 0.5 * box.w)) : int(box.x + 0.2 * box.w)] = True
    beside[rows, int(box.x + 0.8 * box.w) : min(width, int(box.x + 1.5 * box.w))] = True
    floppy = _ears_in(hair & beside, box.w * box.h, root_at="top")
    return floppy if len(floppy) == 2 else []


def _with_base(ear: Appendage, subject: Binary) -> Appendage:
    """A pointed ear's tip (what the opening took) with its base: the tip's outline widened from its apex by
    half again (an ear is a triangle that goes on into the head), within the subject and its outline."""
    rows, columns = np.nonzero(ear.mask)
    points = np.stack([columns, rows], axis=1).astype(np.float32)
    hull = cv2.convexHull(points).reshape(-1, 2)
    apex = points[int(np.argmin(rows))]
    widened = apex + EAR_BASE_GROWTH * (hull - apex)
    shape = np.zeros(subject.shape, np.uint8)
    cv2.fillConvexPoly(shape, np.rint(widened).astype(np.int32), 1)
    near_subject = cv2.dilate(subject.astype(np.uint8), _disc(2)).astype(bool)
    grown = (shape.astype(bool) & near_subject) | ear.mask
    grown_rows, grown_columns = np.nonzero(grown)
    bottom = grown_rows >= grown_rows.max() - max(2, 0.1 * (grown_rows.max() - grown_rows.min()))
    root = (float(grown_columns[bottom].mean()), float(grown_rows.max()))
    return Appendage(root, _farthest(grown, root), grown)


def _ears_in(mask: Binary, face_area: float, *, root_at: str) -> list[Appendage]:
    """The two largest parts of `mask` (each at least EAR_MIN_AREA of the face), left to right, each rooted at
    the middle of its lowest or highest rows."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    found = [label for label in range(1, count) if int(stats[label, cv2.CC_STAT_AREA]) >= EAR_MIN_AREA * face_area]
    found = sorted(found, key=lambda label: -int(stats[label, cv2.CC_STAT_AREA]))[:2]
    ears = []
    for label in sorted(found, key=lambda label: float(centroids[label][0])):
        part = labels == label
        rows, columns = np.nonzero(part)
        edge = rows.max() if root_at == "bottom" else rows.min()
        near = np.abs(rows - edge) <= max(2, 0.1 * (rows.max() - rows.min()))
        root = (float(columns[near].mean()), float(edge))
        ears.append(Appendage(root, _farthest(part, root), part))
    return ears


def turn_basis(
    grid: Grid,
    appendage: Appendage,
    *,
    angle: float,
    sweep: float,
    bend: float = 0.0,
    others: Sequence[Appendage] = (),
) -> Vector:
    """`(h, w, 2)` px: the appendage turned by `angle` (radians, at its tip) about its root, linearised. With
    `bend` > 0 the angle grows from the root to the tip as (distance / length) ** bend (a tail bends as it
    wags); at 0 it turns whole (an ear is stiff).

    Only the appendage's own layer follows it (`layers.LAYER_GAINS`), so the weight is simply 1 as far as the
    appendage sweeps (`sweep`, px: how far its tip travels) and fades quickly beyond; the lever fades too past
    the tip, so that the field is nothing away from it."""
    # The layer's support on the grid reaches two nodes past its matte (`sampling.support`), where the limiter
    # measures the stretch: the field is whole there, and only fades (quickly) beyond.
    margin = SUPPORT_NODES + 1
    radius = math.ceil(sweep / grid.cell_px) + margin
    inside = grid.resample(appendage.mask.astype(np.float32)) > 0.5
    grown = cv2.dilate(inside.astype(np.uint8), _disc(radius))
    from_sweep = cv2.distanceTransform(1 - grown, cv2.DIST_L2, 3)
    # Past the sweep, within two nodes (the layer's support reaches that far), then gone: the field stays small
    # elsewhere, which keeps the picture's border from pinning it (`Regions.pin_to_border`).
    weight = np.exp(-from_sweep / 1.5)
    if others:
        # The layer holds the other appendages too (a dog's two ears): nearer one of them, this one's turn is
        # not theirs.
        theirs = np.logical_or.reduce([grid.resample(other.mask.astype(np.float32)) > 0.5 for other in others])
        from_inside = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 3)
        from_theirs = cv2.distanceTransform((~theirs).astype(np.uint8), cv2.DIST_L2, 3)
        weight = weight * np.clip(0.5 + 0.5 * (from_theirs - from_inside), 0.0, 1.0)
    rx, ry = appendage.root
    offset_x, offset_y = grid.x - np.float32(rx), grid.y - np.float32(ry)
    reach = np.hypot(offset_x, offset_y) / max(appendage.length, 1.0)
    along = np.clip(reach, 0.0, 1.0) ** bend
    tip = 1.0 + (sweep + margin * grid.cell_px) / max(appendage.length, 1.0)
    lever = 1.0 - motion.smoothstep_array((reach - tip) / LEVER_FADE)
    turn = np.asarray(angle * along * weight * lever, np.float32)
    return vector(-turn * offset_y, turn * offset_x, grid.shape)


@dataclass(frozen=True)
class Appendages:
    """The tail and the ears a clip's tracks move, as the picture shows them (None, () where it does not)."""

    tail: Appendage | None = None
    ears: tuple[Appendage, ...] = ()

    @property
    def found(self) -> list[Appendage]:
        return ([self.tail] if self.tail is not None else []) + list(self.ears)


def find_appendages(parts: Parts, tracks: Iterable[Track]) -> Appendages:
    """The tail and the ears that `tracks` move, looked for once for the clip: the layers (`appendage_matte`)
    and the deformers (`_tail_wag`, `_ear_twitch`) use the same."""
    wanted = {track.part for track in tracks}
    return Appendages(
        tail=find_tail(parts) if "tail" in wanted else None,
        ears=tuple(find_ears(parts)) if "ears" in wanted else (),
    )


def appendage_matte(parts: Parts, appendages: Appendages) -> tuple[Matte, Matte] | None:
    """The over-matte of `appendages`, and the share of it taken out of the layers behind; None when there are
    none. The appendages are a layer of their own, in front of the rest (`layers.with_appendages`); the layers
    behind keep the inner part (towards the root), painted in under it: what a turning ear uncovers at its base
    is the head, what its tip uncovers is what lies behind the head."""
    found = appendages.found
    if not found:
        return None
    height, width = parts.subject.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    matte = np.zeros((height, width), np.float32)
    outer = np.zeros((height, width), np.float32)
    for appendage in found:
        soft = np.asarray(cv2.GaussianBlur(appendage.mask.astype(np.float32), (0, 0), 1.0), np.float32)
        own = np.maximum(soft, appendage.mask.astype(np.float32))
        # Feathered towards the root, where the appendage hands over to the body: where it turns a little, the
        # two blend instead of showing a seam.
        rx, ry = appendage.root
        near_root = np.hypot(xs - rx, ys - ry) / max(appendage.length, 1.0)
        own *= motion.smoothstep_array(near_root / ROOT_FEATHER)
        matte = np.maximum(matte, own)
        outer = np.maximum(outer, motion.smoothstep_array((near_root - KEPT_BEHIND) / ROOT_FEATHER))
    # A drawing's outline around the appendage may lie just outside the subject's mask: it goes with it.
    reach = _disc(max(1, round(OUTLINE_REACH * min(height, width))))
    matte = np.asarray(cv2.dilate(matte, reach), np.float32)
    matte = np.asarray(np.minimum(matte, cv2.dilate(parts.subject, reach)), np.float32)
    return matte, np.asarray(matte * outer, np.float32)


def _tail_wag(track: Track, context: FieldContext) -> TrackMotion:
    found = context.regions.appendages
    tail = found.tail if found is not None else None
    if tail is None:
        return TrackMotion(track, note="tail.wag: no tail found in the picture; not drawn")
    angle = TAIL_WAG_RAD * track.amplitude
    basis = turn_basis(context.grid, tail, angle=angle, sweep=angle * tail.length, bend=TAIL_BEND)
    curve = _there_and_back(_cycles(track, context, WAG_PERIOD_S * float(context.rng.uniform(0.9, 1.1))))
    return TrackMotion(track, [Term(basis, curve, group="tail")])


def _twitches(track: Track, context: FieldContext, *, count: int) -> Curve:
    """`count` twitches (0 -> 1 quickly, held, back more slowly) spread over the span with seeded jitter: a
    blink's shape (`motion.event_curve`) at a twitch's pace."""
    return motion.event_curve(
        replace(track, repeats=count),
        context.clock,
        context.rng,
        close_s=TWITCH_OUT_S,
        hold_s=TWITCH_HOLD_S,
        open_s=TWITCH_BACK_S,
    )


def _ear_twitch(track: Track, context: FieldContext) -> TrackMotion:
    found = context.regions.appendages
    ears = list(found.ears) if found is not None else []
    if not ears:
        return TrackMotion(track, note="ears.twitch: no ears found in the picture; not drawn")
    sides = {"left": ears[:1], "right": ears[-1:]}.get(track.direction or "", ears)
    terms = []
    for index, ear in enumerate(sides):
        # The ear on the picture's left turns outwards (counter-clockwise), the right one clockwise.
        outwards = -1.0 if ear is ears[0] else 1.0
        angle = outwards * EAR_TWITCH_RAD * track.amplitude
        others = [other for other in ears if other is not ear]
        basis = turn_basis(context.grid, ear, angle=angle, sweep=abs(angle) * ear.length, bend=EAR_BEND, others=others)
        count = max(1, track.repeats + (index if track.repeats == 1 else 0))
        terms.append(Term(basis, _twitches(track, context, count=count), group="ears"))
    return TrackMotion(track, terms)
