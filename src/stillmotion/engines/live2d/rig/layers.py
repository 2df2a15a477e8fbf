"""The picture as a stack of layers, as a Live2D model is drawn: a background plate at the back, then back
hair, body, face, side locks and bangs, each an RGB texture with a soft over-matte ("alpha").

Composited back to front, at rest, the stack gives the input back exactly. That holds by construction,
whatever the mattes: a layer's texture is the input wherever the layer shows at all (its matte times the
clear share of every layer in front of it is above 0), and is painted in (filled from its own visible
pixels) only where layers in front cover it completely. The plate likewise is the input wherever any
background shows, and painted in under the subject. So a layer may reach under the ones in front of it
(the back hair behind the face, the neck under the chin, the forehead under the bangs), and what a moving
layer reveals is the layer behind it, never a smear of the layer itself.

Which layer moves how is the deformers' business (`LAYER_GAINS`): the background never moves with the
subject, the face does not move with the wind, back hair turns less than the face (parallax).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Parts
from stillmotion.engines.live2d.regions import FaceGeometry, rise
from stillmotion.engines.live2d.rig.band_fill import fill_band
from stillmotion.engines.live2d.rig.fill import fill_hole

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Matte = npt.NDArray[np.float32]  # (H, W) float32 in [0, 1]

# How deep under the subject's edge the plate continues the background's texture, as a share of the
# picture's long side: further than any part moves.
PLATE_BAND: Final = 0.03

# Back to front. Without a face the stack is the plate and one "subject" layer.
FACE_LAYERS: Final = ("back_hair", "body", "face", "side_locks", "bangs")
SUBJECT_LAYERS: Final = ("subject",)

# How much of each deformer group a layer follows (a missing group: 0). Deformers may override these
# per term: a head turn moves back hair less and bangs more than the face (parallax).
LAYER_GAINS: Final[Mapping[str, Mapping[str, float]]] = {
    "back_hair": {"head": 1.0, "body": 1.0, "hair": 1.0},
    "body": {"head": 1.0, "body": 1.0, "clothes": 1.0},
    "face": {"head": 1.0, "eyes": 1.0, "mouth": 1.0, "body": 1.0},
    "side_locks": {"head": 1.0, "body": 1.0, "hair": 1.0},
    "bangs": {"head": 1.0, "body": 1.0, "hair": 1.0},
    "subject": {"head": 1.0, "eyes": 1.0, "mouth": 1.0, "body": 1.0, "hair": 1.0, "clothes": 1.0},
    # An animal's tail and ears, when a track moves them (`with_appendages`): they also go where the head and
    # body take them.
    "appendages": {"head": 1.0, "body": 1.0, "tail": 1.0, "ears": 1.0},
}


def sharpen(mask: Matte, low: float = 0.15, high: float = 0.85) -> Matte:
    """A soft mask with an exact 1 inside and an exact 0 outside, the soft edge kept."""
    return np.asarray(np.clip((mask - np.float32(low)) / np.float32(high - low), 0.0, 1.0), dtype=np.float32)


@dataclass(frozen=True)
class Layer:
    name: str
    texture: RGBFrame  # (h, w, 3) uint8 over `box`: the input where the layer shows, painted in elsewhere
    alpha: Matte  # (h, w) float32 over `box`
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) in image pixels


@dataclass(frozen=True)
class LayerStack:
    plate: RGBFrame  # (H, W, 3) the background with the subject painted out
    layers: tuple[Layer, ...]  # back to front

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)


def face_mattes(parts: Parts, geometry: FaceGeometry, image: RGBFrame) -> dict[str, Matte]:
    """Over-mattes, back to front, of a picture with a face.

    Hair splits by where it lies: over the forehead (bangs), below the chin (side locks, in front of the
    body), the rest behind the head (back hair). The face is the skin around the face box; it reaches
    under the bangs. The body is the rest of the subject; it reaches up under the chin, so that a head
    that lifts shows a neck. The hair takes its own outline with it, and the stack covers the whole subject
    (`covering`).
    """
    height, width = parts.height, parts.width
    face = geometry.face
    subject = sharpen(parts.subject)
    hair = np.minimum(sharpen(parts.hair), subject)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    soft = 0.06 * max(face.w, face.h)  # width of the zones' soft edges, px

    # The face: an ellipse around the face box, with room for a box that falls short of the outline (a
    # detector's box is often a little small): the outline and the chin's line must move with the face.
    cx, cy = face.cx, face.cy
    radius = np.sqrt(((xs - cx) / (0.58 * face.w)) ** 2 + ((ys - cy) / (0.62 * face.h)) ** 2)
    # A crisp edge (a few px): hair moving behind the face must not show through the face's outline.
    crisp = 0.012 * max(face.w, face.h) / face.w
    face_zone = rise(radius, 1.0 + crisp, 1.0 - crisp)
    # The subject just outside the hair, above the chin and off the face, is the hair's own outline (a
    # drawing's dark line around it, a photo's fringe of loose strands): it moves with the hair, not the body.
    chin = face.y + face.h
    no_hair = (hair <= 0.5).astype(np.uint8)
    to_hair = np.asarray(cv2.distanceTransform(no_hair, cv2.DIST_L2, 3), dtype=np.float32)  # (H, W) px
    outline = subject * rise(to_hair, 0.05 * face.w, 0.0) * rise(ys, chin, chin - soft) * (1.0 - face_zone)
    hair = np.maximum(hair, outline)
    eye_top = min(geometry.left_eye.y, geometry.right_eye.y)
    in_columns = rise(np.abs(xs - face.cx), 0.62 * face.w, 0.5 * face.w)
    bangs_zone = in_columns * rise(ys, eye_top + 0.25 * soft, eye_top - 0.25 * soft)
    locks_zone = rise(ys, chin, chin + soft)  # below the chin: beside the jaw, hair lies behind the face
    mouth_line = geometry.mouth.y + geometry.mouth.h

    # The eyes with their lash arcs belong to the face whatever a hair detector says (a drawn lash arc is
    # dark and thick): the eyelids move them, so no hair layer may hold a copy of them. Near an eye, only what
    # is darker than the hair is taken (the lash line); the tips of bangs that reach down beside it stay hair.
    luma = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.float32)  # (H, W)
    hair_luma = float(np.median(luma[hair > 0.5])) if bool((hair > 0.5).any()) else 255.0
    lash_like = rise(luma, hair_luma - 5.0, hair_luma - 20.0)
    # With the line's anti-aliased fringe (lighter than the line, a hair detector's): left in a hair layer it
    # would stay as a faint double arc when the lid comes down.
    fringe = cv2.dilate((lash_like > 0.5).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    lash_like = np.maximum(lash_like, fringe.astype(np.float32))
    eyes_zone = np.zeros((height, width), dtype=np.float32)
    for eye in (geometry.left_eye, geometry.right_eye):
        eye_radius = np.sqrt(
            ((xs - eye.cx) / (0.65 * max(eye.w, 1.0))) ** 2
            + ((ys - (eye.cy - 0.1 * eye.h)) / (0.7 * max(eye.h, 1.0))) ** 2
        )
        eyes_zone = np.maximum(eyes_zone, rise(eye_radius, 1.1, 1.0))
    eyes_zone = eyes_zone * np.maximum(lash_like, 1.0 - hair)
    hair = hair * (1.0 - eyes_zone)

    bangs = hair * bangs_zone
    side_locks = hair * (1.0 - bangs_zone) * locks_zone
    back_hair = hair * (1.0 - bangs_zone) * (1.0 - locks_zone)
    # What lies behind a side lock that swings away: the body where the body is near (a shoulder), more
    # hair elsewhere (beside the jaw and neck).
    body_seen = (subject * (1.0 - hair) * (1.0 - face_zone) > 0.5).astype(np.uint8)
    to_body = np.asarray(cv2.distanceTransform(1 - body_seen, cv2.DIST_L2, 5), dtype=np.float32)  # (H, W) px
    # ... but only well below the body's outline: a lock over the shoulder hides the shoulder's edge, above
    # which lies the wall, not the body, and the outline itself is a guess there (a lock that swings away must
    # not uncover a painted-in shirt above the shoulder).
    below_outline = rise(ys - _body_top(body_seen, hair, chin), 0.1 * face.h, 0.3 * face.h)
    near_body = rise(to_body, 0.25 * face.h, 0.1 * face.h) * below_outline
    # Back hair reaches under the head (the face may turn away from it) and under the locks.
    behind_head = subject * rise(radius, 1.35, 1.1) * (1.0 - locks_zone)
    back_hair = np.maximum(np.maximum(back_hair, behind_head * (1.0 - hair)), side_locks * (1.0 - near_body))
    # Whatever lies in the face's zone moves with the face, its outline included (in a drawing the line
    # around the face is dark, and a hair detector takes it for hair), except the bangs in front of it.
    face_matte = subject * np.maximum(face_zone * (1.0 - bangs), eyes_zone)
    neck = subject * face_zone * rise(ys, mouth_line, mouth_line + soft)
    body = np.maximum(subject * (1.0 - hair) * np.maximum(1.0 - face_zone, neck), side_locks * near_body)
    # Above the chin and off the face, what is not hair is still the head's (a hat's crown, the rim a hair
    # matte leaves along the head's outline): it moves with the back hair, not the shoulders.
    head_rim = body * rise(ys, chin, chin - soft) * (1.0 - face_zone * rise(ys, mouth_line, mouth_line + soft))
    back_hair = np.maximum(back_hair, head_rim)
    body = body - head_rim
    return covering(
        {
            "back_hair": np.asarray(back_hair, dtype=np.float32),
            "body": np.asarray(body, dtype=np.float32),
            "face": np.asarray(face_matte, dtype=np.float32),
            "side_locks": np.asarray(side_locks, dtype=np.float32),
            "bangs": np.asarray(bangs, dtype=np.float32),
        },
        subject,
    )


def covering(mattes: Mapping[str, Matte], subject: Matte) -> dict[str, Matte]:
    """`mattes` (back to front) with the back-most layer at each pixel reaching up so that the stack covers
    what `subject` does. Where two zones hand over softly (bangs to back hair across a few dozen pixels, a
    lock to the body), "over" compositing of their shares covers less than either (0.5 over 0.5 is 0.75):
    the plate would show through the subject, and a seam opens as soon as a layer is composited."""
    names = tuple(mattes)
    out = {name: np.array(mattes[name], dtype=np.float32) for name in names}
    clear = np.ones_like(subject)
    for name in names:
        clear *= 1.0 - out[name]
    # The back-most layer with any share of each pixel, and what the layers in front of it leave clear.
    back = np.full(subject.shape, -1, dtype=np.int32)
    for number in range(len(names) - 1, -1, -1):
        back[out[names[number]] > 0.0] = number
    for number, name in enumerate(names):
        alpha = out[name]
        here = (back == number) & (clear > 1.0 - subject)
        if not bool(here.any()):
            continue
        in_front = clear[here] / np.maximum(1.0 - alpha[here], 1e-6)  # what the others leave clear
        needed = 1.0 - (1.0 - subject[here]) / np.maximum(in_front, 1e-6)
        alpha[here] = np.clip(np.maximum(alpha[here], needed), 0.0, 1.0)
    return out


def _body_top(body_seen: npt.NDArray[np.uint8], hair: Matte, chin: float) -> npt.NDArray[np.float32]:
    """`(1, W)` the y of the body's upper outline below the chin in each column: where the body's highest
    pixel meets what lies above it (background), as seen; across the columns where hair covers that edge,
    interpolated between the seen ones."""
    height, width = body_seen.shape
    below_chin = body_seen.copy()
    below_chin[: max(0, min(height, int(np.ceil(chin))))] = 0
    has_body = below_chin.any(axis=0)
    top = np.argmax(below_chin, axis=0)  # (W,) first body row per column (0 where none)
    above = np.clip(top - 3, 0, height - 1)
    columns = np.arange(width)
    seen = has_body & (hair[above, columns] < 0.5)
    if not bool(seen.any()):
        return np.full((1, width), float(height), dtype=np.float32)  # no edge seen: no body behind the locks
    line = np.interp(columns, columns[seen], top[seen].astype(np.float64))
    return np.asarray(line[None, :], dtype=np.float32)


def _bounding_box(alpha: Matte, *, pad: int) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(alpha.max(axis=1) > 0.0)
    columns = np.flatnonzero(alpha.max(axis=0) > 0.0)
    if rows.size == 0:
        return None
    height, width = alpha.shape
    return (
        max(0, int(columns[0]) - pad),
        max(0, int(rows[0]) - pad),
        min(width, int(columns[-1]) + 1 + pad),
        min(height, int(rows[-1]) + 1 + pad),
    )


def paint_in(image: RGBFrame, known: npt.NDArray[np.bool_]) -> RGBFrame:
    """`image` with the pixels where `known` is False painted in from the known ones around them."""
    if bool(known.all()):
        return image
    if not bool(known.any()):
        mean = image.reshape(-1, 3).mean(axis=0)
        return np.broadcast_to(np.rint(mean).astype(np.uint8), image.shape).copy()
    filled = fill_hole(image.astype(np.float32), known.astype(np.float32))
    return np.asarray(np.clip(np.rint(filled), 0, 255), dtype=np.uint8)


def build_stack(image: RGBFrame, mattes: Mapping[str, Matte], *, pad_px: int = 2, seed: int = 0) -> LayerStack:
    """Textures and the plate for `mattes` (back to front, each `(H, W)`). The plate continues the
    background's texture into a band under the subject's edge (what moving parts uncover; `band_fill`,
    seeded); deeper, where nothing is ever uncovered, it is smooth. It holds the background alone: where the
    subject has a share of a pixel (a soft edge, a drawing's anti-aliased outline), the plate is painted too,
    and the layers get the colour the subject must have for the stack to composite back to the picture
    (`unmixed`), so that nothing of the subject's edge stays behind on the wall when it moves."""
    # In 255ths, as the compositor's RGBA textures hold them: a layer drawn where it rests (float alpha) and
    # the same layer resampled (8-bit alpha) then blend the same, edge colours unmixed for one alpha included.
    mattes = {name: np.asarray(np.rint(matte * 255.0) / 255.0, dtype=np.float32) for name, matte in mattes.items()}
    names = tuple(mattes)
    clear_in_front = np.ones(image.shape[:2], dtype=np.float32)  # product of (1 - alpha) of the layers in front
    shows: dict[str, npt.NDArray[np.bool_]] = {}
    for name in reversed(names):
        # Under another layer's soft edge (the tips of bangs on the forehead) a layer is painted in like where
        # it is hidden, and the one in front gets its unmixed colour (`_unmix_fronts`): left as it is, the
        # mixed edge would stay behind on the forehead as a faint line when the bangs move.
        shows[name] = (mattes[name] * clear_in_front > 0.0) & (clear_in_front > 1.0 - _BACKGROUND_ONLY)
        clear_in_front = clear_in_front * (1.0 - mattes[name])
    band_px = max(16, round(PLATE_BAND * max(image.shape[:2])))
    # Along the picture's edges the plate keeps the picture as it is: a subject cut by the frame continues
    # beyond it (the canvas is synthesised from these pixels), and when the camera moves the background less
    # than the subject (parallax), what shows between the subject's edge and the frame's is its own.
    keep = np.zeros(image.shape[:2], dtype=bool)
    keep[:band_px], keep[-band_px:], keep[:, :band_px], keep[:, -band_px:] = True, True, True, True
    plate = fill_band(image, (clear_in_front >= 1.0 - _BACKGROUND_ONLY) | keep, band_px=band_px, seed=seed)
    source, kept = unmixed(image, plate, clear_in_front)
    plate[kept] = image[kept]
    layers = _unmix_fronts(image, source, plate, mattes, shows, pad_px=pad_px)
    return LayerStack(plate=plate, layers=tuple(layers))


def _unmix_fronts(
    image: RGBFrame,
    source: RGBFrame,
    plate: RGBFrame,
    mattes: Mapping[str, Matte],
    shows: Mapping[str, npt.NDArray[np.bool_]],
    *,
    pad_px: int,
) -> list[Layer]:
    """The layers, back to front, with textures that are `source` where the layer `shows` and painted in
    elsewhere; where a layer is the front-most at a pixel it covers in part over painted-in layers, its colour
    is the F with `a F + (1 - a) behind = image`, so that the stack still composites back to the picture.
    Where no F in 0..255 solves it, every layer keeps `source` there (as where nothing is painted in)."""
    names = tuple(mattes)
    front = np.full(image.shape[:2], -1, dtype=np.int32)  # the front-most layer with any share of each pixel
    for number, name in enumerate(names):
        front[mattes[name] > 0.0] = number
    painted_under = np.zeros(image.shape[:2], dtype=bool)  # a layer behind was painted in there
    behind = plate.astype(np.float32)  # the stack so far, composited
    unsolved = np.zeros(image.shape[:2], dtype=bool)
    layers: list[Layer] = []
    for number, name in enumerate(names):
        alpha = mattes[name]
        box = _bounding_box(alpha, pad=pad_px)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        here = (slice(y0, y1), slice(x0, x1))
        texture = paint_in(source[here].copy(), shows[name][here])
        share = alpha[here]
        mixed = (front[here] == number) & (share > 0.0) & (share < 1.0) & painted_under[here]
        if bool(mixed.any()):
            colour, solved = _front_colour(image[here][mixed], behind[here][mixed], share[mixed])
            rows, columns = np.nonzero(mixed)
            unsolved[rows[~solved] + y0, columns[~solved] + x0] = True
            texture[rows[solved], columns[solved]] = colour[solved]
        painted_under[here] |= (share > 0.0) & ~shows[name][here]
        behind[here] = share[..., None] * texture + (1.0 - share[..., None]) * behind[here]
        layers.append(Layer(name, texture, np.ascontiguousarray(share), box))
    if bool(unsolved.any()):
        for layer in layers:
            x0, y0, x1, y1 = layer.box
            keep = unsolved[y0:y1, x0:x1] & (layer.alpha > 0.0)
            layer.texture[keep] = source[y0:y1, x0:x1][keep]
    return layers


# A pixel the subject covers by less than this is background first: the plate keeps it as it is (taking the
# background out of a pixel the subject covers by less would multiply the error of the plate's guess).
_BACKGROUND_ONLY: Final = 0.3


def unmixed(image: RGBFrame, plate: RGBFrame, clear: Matte) -> tuple[RGBFrame, npt.NDArray[np.bool_]]:
    """`image` where the subject covers a pixel fully or not at all; where it covers it in part (`clear` of it
    left to the plate, 0 < clear < 1), the colour F with `(1 - clear) F + clear plate = image`: the
    subject's own colour, the background's share taken out. Where no F in 0..255 solves it (the plate's
    guess is too far off there), the image as it is, and the second result marks those pixels: the plate
    must keep the image there for the stack to composite back to it."""
    mixed = (clear > 0.0) & (clear < 1.0 - _BACKGROUND_ONLY)
    kept = np.zeros(clear.shape, dtype=bool)
    if not bool(mixed.any()):
        return image, kept
    colour, solved = _front_colour(image[mixed], plate[mixed], 1.0 - clear[mixed])
    out = image.copy()
    rows, columns = np.nonzero(mixed)
    out[rows[solved], columns[solved]] = colour[solved]
    kept[rows[~solved], columns[~solved]] = True
    return out, kept


def _front_colour(
    want: npt.NDArray[np.uint8], behind: npt.ArrayLike, share: Matte
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """`(N, 3)` uint8: the colour F with `share F + (1 - share) behind = want` at N pixels (`want`, `behind`
    `(N, 3)`, `share` `(N,)` in (0, 1)), rounded; and `(N,)` where an F in 0..255 solves it."""
    a = np.asarray(share, dtype=np.float32)[:, None]
    colour = (want.astype(np.float32) - (1.0 - a) * np.asarray(behind, dtype=np.float32)) / a
    solved = np.all((colour >= -0.5) & (colour <= 255.5), axis=1)
    return np.clip(np.rint(colour), 0, 255).astype(np.uint8), solved


def mattes_for(parts: Parts, geometry: FaceGeometry | None, image: RGBFrame) -> dict[str, Matte]:
    """The stack's over-mattes for `image`: a face's five layers, or one subject layer without a face."""
    if geometry is None:
        return {"subject": sharpen(parts.subject)}
    return face_mattes(parts, geometry, image)


def with_appendages(mattes: Mapping[str, Matte], appendages: Matte, taken: Matte) -> dict[str, Matte]:
    """`mattes` with an animal's tail and ears (`appendages`, an over-matte) on a layer of their own in front,
    and `taken` (their outer part) taken out of every other layer: what a wagging tail's tip uncovers is what
    lies behind it; at its root, the body, painted in under it."""
    rest = 1.0 - taken
    out = {name: np.asarray(matte * rest, np.float32) for name, matte in mattes.items()}
    out["appendages"] = np.asarray(appendages, np.float32)
    return out


def _lanczos_midpoint_taps() -> npt.NDArray[np.float32]:
    """The 8 weights that give the value half-way between two pixels, from the 4 pixels on each side
    (Lanczos, a = 4), normalised to sum to 1."""
    offsets = np.arange(-3.5, 4.0, 1.0)
    taps = np.sinc(offsets) * np.sinc(offsets / 4.0)
    return np.asarray(taps / taps.sum(), dtype=np.float32)


_MIDPOINT_TAPS: Final = _lanczos_midpoint_taps()


def _double_axis(image: npt.NDArray[np.uint8], axis: int) -> npt.NDArray[np.uint8]:
    """`image` with a Lanczos midpoint between every two neighbours along `axis` (0 rows, 1 columns): pixel
    k of the input is pixel 2k of the output, exactly."""
    kernel = _MIDPOINT_TAPS[None, :] if axis == 1 else _MIDPOINT_TAPS[:, None]
    # anchor 3: output k = sum_j taps[j] * input[k + j - 3], the midpoint between k and k + 1 (rounded and
    # clipped to 0..255 by filter2D itself).
    anchor = (3, 0) if axis == 1 else (0, 3)
    mid = cv2.filter2D(image, -1, kernel, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    shape = list(image.shape)
    shape[axis] *= 2
    out = np.empty(shape, dtype=np.uint8)
    if axis == 1:
        out[:, 0::2] = image
        out[:, 1::2] = mid
    else:
        out[0::2] = image
        out[1::2] = mid
    return out


def double_size(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """`(h, w, c)` -> `(2h, 2w, c)` uint8 with input pixel (x, y) at (2x, 2y) unchanged and Lanczos
    midpoints between. Bilinear sampling of this at twice the coordinates resamples about as sharply as
    Lanczos itself (and copies pixels exactly at whole positions), for the cost of a bilinear remap."""
    return _double_axis(_double_axis(np.ascontiguousarray(rgba), 1), 0)


def rgba(texture: RGBFrame, alpha: Matte) -> npt.NDArray[np.uint8]:
    """`(h, w, 4)` uint8: `texture` with `alpha` (0..1) as its fourth channel."""
    return np.dstack([texture, np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)])
