"""The live2d renderer's face layers and whole-body motions.

On a drawn character, end to end through `ClipRenderer`: the mouth layers (a drawn line bent into a
smile, the dark "D" of an open or talking mouth) and the whole-body motions measured against the face
(breathing, sway, nod, bounce). The character comes from `support_drawings.draw_character`; its parts are
built from the drawing's own truth (kind "drawn"), so nothing there depends on detection.

`FaceLayers` on its own: eyelids that close by bringing the picture's own lid and lash line down over
the eye, on drawings and on photos (eye boxes from the engine's own detection, placed as the renderer
places them), and a photo's mouth that opens by moving the lower lip down from under the upper lip and
teeth. Frames are small and clips short; nothing is encoded.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from stillmotion.engines.live2d.engine import fit_image, output_size
from stillmotion.engines.live2d.parts import Box, Face, Parts, find_parts
from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.regions import FaceGeometry
from stillmotion.engines.live2d.render.compositor import ClipRenderer, RenderSettings
from stillmotion.engines.live2d.rig.body import BREATHE_FACE_H, SWAY_FACE_H
from stillmotion.engines.live2d.rig.face_layers import FaceLayers
from stillmotion.engines.live2d.rig.mouth import MouthOpening
from stillmotion.engines.live2d.rig.tear import Tear
from stillmotion.media.still import decode_image
from support_drawings import IRIS_COLORS, SKIN, DrawnTruth, draw_character

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Floats = npt.NDArray[np.float64]
Character = tuple[Frame, DrawnTruth, Parts]

FPS: Final = 10
FIXTURES: Final = Path(__file__).resolve().parent.parent / "fixtures"
_EYE_LABEL: Final = 4
_MOUTH_LABEL: Final = 5
_LUMA: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Darker than this is line art (the mouth line is ~90, skin ~230).
_DARK_LUMA: Final = 170.0


# -- the character and its parts ----------------------------------------------------------------------


def _soft(mask: npt.NDArray[np.bool_], sigma: float = 3.0) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma), dtype=np.float32)


def parts_from_truth(truth: DrawnTruth) -> Parts:
    """What a perfect drawn-face detector would report for the drawing `truth` describes."""
    height, width = truth.labels.shape
    eye_w, eye_h = truth.eye_size

    def eye(centre: tuple[float, float]) -> Box:
        return Box(centre[0] - eye_w / 2, centre[1] - eye_h / 2, eye_w, eye_h)

    rows, columns = np.nonzero(truth.labels == _MOUTH_LABEL)  # the drawn line's pixels
    mouth = Box(
        float(columns.min()),
        float(rows.min()),
        float(columns.max() - columns.min() + 1),
        float(rows.max() - rows.min() + 1),
    )
    subject = _soft(truth.subject_mask)
    return Parts(
        width=width,
        height=height,
        face=Face(
            box=Box(*truth.face_box),
            kind="drawn",
            left_eye=eye(truth.left_eye),
            right_eye=eye(truth.right_eye),
            mouth=mouth,
            neck=truth.neck,
        ),
        subject=subject,
        hair=_soft(truth.hair_mask),
        body=_soft(truth.body_mask),
        background=np.asarray(1.0 - subject, dtype=np.float32),
        method="by hand",
    )


def character(width: int, height: int, *, seed: int = 0) -> Character:
    image, truth = draw_character(width, height, seed=seed, background="plain")
    return image, truth, parts_from_truth(truth)


def on_larger_canvas(drawn: Character, width: int, height: int) -> Character:
    """The same drawing, same size, bottom-centred on a larger plain canvas (the torso still meets the
    bottom edge): the face keeps its size while the frame grows."""
    image, truth, _ = drawn
    small_height, small_width = image.shape[:2]
    dx, dy = (width - small_width) // 2, height - small_height
    larger = np.empty((height, width, 3), dtype=np.uint8)
    larger[:] = image[0, 0]
    larger[dy:, dx : dx + small_width] = image
    labels = np.zeros((height, width), dtype=np.uint8)
    labels[dy:, dx : dx + small_width] = truth.labels

    def moved(point: tuple[float, float]) -> tuple[float, float]:
        return point[0] + dx, point[1] + dy

    x, y, w, h = truth.face_box
    shifted = replace(
        truth,
        face_box=(x + dx, y + dy, w, h),
        left_eye=moved(truth.left_eye),
        right_eye=moved(truth.right_eye),
        mouth=moved(truth.mouth),
        neck=moved(truth.neck),
        labels=labels,
    )
    return larger, shifted, parts_from_truth(shifted)


@pytest.fixture(scope="module")
def small() -> Character:
    return character(240, 320)


@pytest.fixture(scope="module")
def mouth_sized() -> Character:
    """Large enough that the drawn mouth line is ~20 px long."""
    return character(360, 480)


def face_box(parts: Parts) -> Box:
    assert parts.face is not None
    return parts.face.box


def mouth_box(parts: Parts) -> Box:
    assert parts.face is not None and parts.face.mouth is not None
    return parts.face.mouth


# -- rendering and measuring --------------------------------------------------------------------------


def renderer(drawn: Character, *tracks: Track, duration_s: float = 3.0, seed: int = 0) -> ClipRenderer:
    image, _, parts = drawn
    plan = MotionPlan(duration_s=duration_s, tracks=tracks)
    settings = RenderSettings(fps=FPS, frame_count=round(duration_s * FPS), seed=seed)
    return ClipRenderer(image, parts, plan, settings)


def content_shift(clip: ClipRenderer, index: int, layer: str | None = "face") -> Floats:
    """`(H, W, 2)`: how far the content of `layer` (default the face layer; None: every term in full) shown
    at each pixel has moved there (the camera is still)."""
    sample = clip.sample_map(index, layer).astype(np.float64)
    identity = np.stack(np.meshgrid(np.arange(clip.width), np.arange(clip.height)), axis=-1).astype(np.float64)
    offset = np.array([clip.margins.left, clip.margins.top], dtype=np.float64)
    return identity + offset - sample


def series(clip: ClipRenderer, point: tuple[float, float], axis: int, layer: str = "face") -> Floats:
    """`(T,)` displacement along `axis` (0: x, 1: y) of `layer`'s content shown at `point` in each frame."""
    x, y = round(point[0]), round(point[1])
    return np.array([content_shift(clip, index, layer)[y, x, axis] for index in range(clip.frame_count)])


def frames_after(clip: ClipRenderer, end_s: float) -> range:
    return range(int(np.ceil(end_s * FPS)), clip.frame_count)


def shoulders(truth: DrawnTruth) -> tuple[float, float]:
    """A point on the shirt just below the shoulder line, under the chin."""
    face_h = truth.face_box[3]
    return truth.neck[0], truth.neck[1] + 0.225 * face_h + 2.0


def sign_changes(values: Floats, *, ignore_below: float) -> int:
    signs = np.sign(values[np.abs(values) >= ignore_below])
    return int(np.count_nonzero(signs[1:] != signs[:-1]))


def mouth_window(parts: Parts) -> tuple[slice, slice]:
    """(rows, columns) around the drawn mouth: room for its corners to rise and its opening to drop, and
    clear of the eyes above it."""
    mouth, face = mouth_box(parts), face_box(parts)
    rows = slice(round(mouth.y - 0.08 * face.h), round(mouth.y + mouth.h + 0.1 * face.h))
    columns = slice(round(mouth.x - 0.4 * mouth.w), round(mouth.x + 1.4 * mouth.w))
    return rows, columns


def dark(frame: Frame, window: tuple[slice, slice]) -> npt.NDArray[np.bool_]:
    """`(h, w)` the line-art pixels of `frame` inside `window`."""
    mask: npt.NDArray[np.bool_] = (frame[window].astype(np.float32) @ _LUMA) < _DARK_LUMA
    return mask


def corners_and_middle(line: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """(mean row of the line's two outer sixths, mean row of its middle sixth) of a dark-pixel mask."""
    rows, columns = np.nonzero(line)
    left, right = int(columns.min()), int(columns.max())
    sixth = max(2, (right - left) // 6)
    outer = (columns <= left + sixth) | (columns >= right - sixth)
    middle = np.abs(columns - 0.5 * (left + right)) <= 0.5 * sixth
    return float(rows[outer].mean()), float(rows[middle].mean())


def outside(region: Box, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """`(H, W)` True outside `region` (clipped to the frame)."""
    mask = np.ones(shape, dtype=bool)
    x0, y0 = max(round(region.x), 0), max(round(region.y), 0)
    mask[y0 : round(region.y + region.h), x0 : round(region.x + region.w)] = False
    return mask


def around_mouth(parts: Parts) -> Box:
    """The mouth grown generously: everything the mouth's layers and warps may touch lies inside."""
    mouth, face = mouth_box(parts), face_box(parts)
    grow_x, grow_y = 0.35 * face.w, 0.25 * face.h
    return Box(mouth.x - grow_x, mouth.y - grow_y, mouth.w + 2 * grow_x, mouth.h + 2 * grow_y)


# -- 1. a drawn smile ---------------------------------------------------------------------------------


def test_a_drawn_smile_bends_the_mouth_line_up_at_its_corners(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    clip = renderer(mouth_sized, Track("mouth", "smile", amplitude=1.0, end_s=3.0))
    window = mouth_window(parts)
    face_w = face_box(parts).w

    assert np.array_equal(clip.frame(0), image)
    smiling = clip.frame(clip.frame_count // 2)
    change = np.abs(smiling[window].astype(np.int16) - image[window].astype(np.int16)).mean()
    assert change > 5.0, f"the mouth region barely changed ({change:.1f} levels on average)"

    corners_before, middle_before = corners_and_middle(dark(image, window))
    corners_after, middle_after = corners_and_middle(dark(smiling, window))
    # Rows grow downwards: rising corners have smaller rows, and rise further than the middle does.
    assert corners_before - corners_after > 0.02 * face_w, (corners_before, corners_after)
    assert (middle_after - corners_after) - (middle_before - corners_before) > 0.015 * face_w


def test_a_drawn_frown_bends_the_mouth_line_down_at_its_corners(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    clip = renderer(mouth_sized, Track("mouth", "frown", amplitude=1.0, end_s=3.0))
    window = mouth_window(parts)
    face_w = face_box(parts).w
    frowning = clip.frame(clip.frame_count // 2)
    corners_before, middle_before = corners_and_middle(dark(image, window))
    corners_after, middle_after = corners_and_middle(dark(frowning, window))
    # Rows grow downwards: falling corners have larger rows, and fall further than the middle does.
    assert corners_after - corners_before > 0.02 * face_w, (corners_before, corners_after)
    assert (corners_after - middle_after) - (corners_before - middle_before) > 0.015 * face_w
    far = outside(around_mouth(parts), image.shape[:2])
    assert np.array_equal(frowning[far], image[far])


def test_a_photos_blush_sits_on_the_cheek_not_on_the_lower_lid() -> None:
    # A photo's eye box is a slit: a flush just under it lay on the eye bags (it read as sore eyes).
    from stillmotion.engines.live2d.rig.blush import Blush

    face = Box(100.0, 100.0, 140.0, 140.0)
    eyes = {"left": Box(125.0, 146.0, 30.0, 8.0), "right": Box(185.0, 146.0, 30.0, 8.0)}
    canvas = np.zeros((400, 400, 3), np.uint8)
    for drawn, least in ((False, 0.15), (True, 0.0)):
        blush = Blush.build(canvas, eyes, face, offset=(0, 0), drawn=drawn)
        assert blush is not None
        for region, alpha in blush.cheeks:
            rows = np.flatnonzero(alpha.max(axis=1) > 0.9)
            middle = region.y0 + float(rows.mean())
            assert middle - eyes["left"].cy >= least * face.h, (drawn, middle)


def test_a_blush_turns_the_cheeks_under_the_eyes_pink_and_nothing_else(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    assert parts.face is not None and parts.face.left_eye is not None and parts.face.right_eye is not None
    clip = renderer(mouth_sized, Track("head", "blush", amplitude=0.7, end_s=3.0))
    assert np.array_equal(clip.frame(0), image)
    flushed = clip.frame(clip.frame_count - 1).astype(np.int16)
    before = image.astype(np.int16)

    def pinkness(frame: npt.NDArray[np.int16], eye: Box) -> float:
        rows = slice(round(eye.y + eye.h + 0.2 * eye.w), round(eye.y + eye.h + 0.8 * eye.w))
        columns = slice(round(eye.x), round(eye.x + eye.w))
        cheek = frame[rows, columns]
        return float((cheek[..., 0] - cheek[..., 1]).mean())  # red over green

    for eye in (parts.face.left_eye, parts.face.right_eye):
        assert pinkness(flushed, eye) - pinkness(before, eye) > 8.0, eye
    # Nothing moves and nothing away from the cheeks changes: the eyes and mouth are as drawn.
    face = face_box(parts)
    cheeks = Box(face.x, parts.face.left_eye.y + parts.face.left_eye.h, face.w, 0.3 * face.h)
    far = outside(cheeks, image.shape[:2])
    assert np.array_equal(flushed[far], before[far])


def test_sparkling_eyes_light_up_with_star_glints_and_nothing_else_changes(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    assert parts.face is not None and parts.face.left_eye is not None and parts.face.right_eye is not None
    clip = renderer(mouth_sized, Track("eyes", "sparkle", amplitude=0.7, end_s=3.0))
    assert np.array_equal(clip.frame(0), image)
    lit = clip.frame(clip.frame_count // 2).astype(np.int16)
    brighter = (lit - image.astype(np.int16)).min(axis=2)  # every channel lighter: towards white
    for eye in (parts.face.left_eye, parts.face.right_eye):
        inside = brighter[round(eye.y) : round(eye.y + eye.h), round(eye.x) : round(eye.x + eye.w)]
        assert inside.max() > 60, eye
        assert (inside > 20).mean() > 0.02, eye  # a star, not a dot
    # Nothing moves, nothing darkens, and nothing away from the eyes changes.
    assert brighter.min() >= 0
    eyes = Box(
        parts.face.left_eye.x,
        min(parts.face.left_eye.y, parts.face.right_eye.y),
        parts.face.right_eye.x + parts.face.right_eye.w - parts.face.left_eye.x,
        max(parts.face.left_eye.h, parts.face.right_eye.h),
    )
    far = outside(eyes, image.shape[:2])
    assert np.array_equal(lit[far], image.astype(np.int16)[far])


def test_a_tear_wells_under_one_eye_and_runs_down_the_cheek(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    assert parts.face is not None and parts.face.right_eye is not None and parts.face.left_eye is not None
    clip = renderer(mouth_sized, Track("eyes", "tear", amplitude=0.7, end_s=3.0))
    assert np.array_equal(clip.frame(0), image)
    eye = parts.face.right_eye

    def lowest_tear_row(index: int) -> int:
        # Bluer than the skin: the drop and its trail.
        frame = clip.frame(index).astype(np.int16)
        blue = (frame[..., 2] - frame[..., 0] > 40) & ~(image[..., 2].astype(np.int16) - image[..., 0] > 40)
        rows = np.flatnonzero(blue.any(axis=1))
        return int(rows.max()) if rows.size else -1

    early, late = lowest_tear_row(clip.frame_count // 4), lowest_tear_row(clip.frame_count - 1)
    assert early > eye.y + eye.h - 1, early
    assert late > early + 0.6 * eye.w, (early, late)  # it ran down
    # Under the viewer's right eye only; nothing above the eyes changes.
    last = clip.frame(clip.frame_count - 1)
    changed = np.abs(last.astype(np.int16) - image.astype(np.int16)).sum(axis=2) > 0
    columns = np.flatnonzero(changed.any(axis=0))
    assert columns.min() > parts.face.left_eye.x + parts.face.left_eye.w, (columns.min(), parts.face.left_eye)
    assert not changed[: round(eye.y)].any()


@pytest.mark.parametrize(("drawn", "crisp"), [(True, True), (False, False)])
def test_a_drawn_tear_is_a_crisp_drop_a_photos_a_soft_one(drawn: bool, crisp: bool) -> None:
    # A drawing's tears have an edge, as drawn ones do: below the drop's middle (clear of its highlight) the tint
    # goes from none to full within a few pixels; a soft blob over the whole radius read as a smudge on the cheek.
    canvas = np.full((200, 200, 3), SKIN, np.uint8)
    tear = Tear.build(canvas, Box(80, 40, 40, 16), Box(40, 10, 120, 170), offset=(0, 0), drawn=drawn)
    assert tear is not None
    tear.paint(canvas, 1.0)
    change = np.abs(canvas.astype(np.int16) - np.array(SKIN, np.int16)).max(axis=-1)
    ys, xs = np.nonzero(change > 10)
    bottom = int(ys.max())
    column = change[bottom - round(tear.radius) : bottom + 1, int(np.median(xs[ys > bottom - 3]))].astype(float)
    full = column.max()
    partial = int(((column > 0.15 * full) & (column < 0.85 * full)).sum())
    assert (partial <= 3) == crisp, (partial, column)


def test_in_a_loop_the_tear_fades_out_before_the_clip_starts_again(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    plan = MotionPlan(duration_s=3.0, tracks=(Track("eyes", "tear", amplitude=0.7, end_s=3.0),))
    clip = ClipRenderer(image, parts, plan, RenderSettings(fps=FPS, frame_count=3 * FPS, seed=0, loop=True))
    first, middle, last = (clip.frame(i).astype(np.int16) for i in (0, clip.frame_count // 2, clip.frame_count - 1))
    assert np.abs(middle - image).max() > 60  # the tear is there midway
    assert np.abs(first - image).max() == 0
    assert np.abs(last - image).max() < 20  # and almost gone at the seam


def test_in_a_loop_a_late_tear_runs_in_its_own_span(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    plan = MotionPlan(duration_s=3.0, tracks=(Track("eyes", "tear", amplitude=0.7, start_s=2.6, end_s=3.0),))
    clip = ClipRenderer(image, parts, plan, RenderSettings(fps=FPS, frame_count=3 * FPS, seed=0, loop=True))
    before_span = clip.frame(round(2.5 * FPS)).astype(np.int16)
    in_span = clip.frame(round(2.8 * FPS)).astype(np.int16)
    assert np.abs(before_span - image).max() == 0  # nothing before it starts
    assert np.abs(in_span - image).max() > 60


def test_a_drawn_smile_leaves_everything_away_from_the_mouth_untouched(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    far = outside(around_mouth(parts), image.shape[:2])
    clip = renderer(mouth_sized, Track("mouth", "smile", amplitude=1.0, end_s=3.0))
    for index in range(clip.frame_count):
        assert np.array_equal(clip.frame(index)[far], image[far]), f"frame {index} changed away from the mouth"

    # With other motion under it: the same plan without the smile differs only around the mouth.
    breath = Track("body", "breathe", amplitude=0.5, end_s=3.0)
    with_smile = renderer(mouth_sized, breath, Track("mouth", "smile", amplitude=1.0, end_s=3.0))
    without = renderer(mouth_sized, breath)
    middle = with_smile.frame_count // 2
    assert np.array_equal(with_smile.frame(middle)[far], without.frame(middle)[far])
    assert not np.array_equal(with_smile.frame(middle), without.frame(middle))


# -- 2. a drawn mouth that opens and talks ------------------------------------------------------------


def test_a_drawn_mouth_opens_as_a_dark_d_and_closes_again(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    window = mouth_window(parts)
    face_h = face_box(parts).h
    track = Track("mouth", "open", amplitude=0.7, start_s=0.3, end_s=2.2)
    clip = renderer(mouth_sized, track)

    assert np.array_equal(clip.frame(0), image)
    closed = dark(image, window)
    open_ = dark(clip.frame(round(0.5 * (track.start_s + track.end_s) * FPS)), window)
    assert open_.sum() > 1.5 * closed.sum(), (int(closed.sum()), int(open_.sum()))
    # A "D": the dark drops well below the drawn line and does not climb above it.
    closed_rows, open_rows = np.flatnonzero(closed.any(axis=1)), np.flatnonzero(open_.any(axis=1))
    assert open_rows.max() - closed_rows.max() > 0.04 * face_h
    assert open_rows.min() >= closed_rows.min() - 2

    for index in frames_after(clip, track.end_s + 0.05):
        assert np.array_equal(clip.frame(index), image), f"frame {index}: the mouth has not closed"


def test_a_drawn_mouth_talks_in_several_openings_of_varying_size(mouth_sized: Character) -> None:
    image, _, parts = mouth_sized
    window = mouth_window(parts)
    track = Track("mouth", "talk", amplitude=0.7, end_s=2.5)
    clip = renderer(mouth_sized, track)

    at_rest = int(dark(image, window).sum())
    counts = np.array([int(dark(clip.frame(index), window).sum()) for index in range(clip.frame_count)])
    openings: list[int] = []  # the largest dark count of each opening
    is_open = False
    for count in counts:
        if not is_open and count >= at_rest + 15:
            is_open = True
            openings.append(int(count))
        elif is_open and count <= at_rest + 10:
            is_open = False
        elif is_open:
            openings[-1] = max(openings[-1], int(count))
    assert len(openings) >= 3, f"dark pixels per frame: {counts.tolist()}"
    assert len(set(openings)) >= 2, f"every opening the same size: {openings}"

    for index in frames_after(clip, track.end_s):
        assert np.array_equal(clip.frame(index), image), f"frame {index}: the mouth has not closed"


# -- 3. breathing -------------------------------------------------------------------------------------


def _breath_lift(drawn: Character, amplitude: float) -> float:
    """The largest rise (px) of the shoulders over a breath."""
    clip = renderer(drawn, Track("body", "breathe", amplitude=amplitude, end_s=4.5), duration_s=4.5)
    return float(np.abs(series(clip, shoulders(drawn[1]), axis=1, layer="body")).max())


def test_a_deep_breath_lifts_the_shoulders_with_the_square_of_the_amplitude(small: Character) -> None:
    gentle, deep = _breath_lift(small, 0.5), _breath_lift(small, 1.0)
    assert deep / gentle > 2.5, (gentle, deep)
    # A gentle breath is a small share of the face's height.
    face_h = face_box(small[2]).h
    assert 0.8 * BREATHE_FACE_H * face_h < gentle < 1.2 * BREATHE_FACE_H * face_h, (gentle, face_h)


def test_breathing_is_measured_by_the_face(small: Character) -> None:
    base = _breath_lift(small, 1.0)
    # The same character drawn twice as large: twice the lift in pixels.
    doubled = _breath_lift(character(480, 640), 1.0)
    assert 1.7 < doubled / base < 2.3, (base, doubled)
    # The same face on a frame twice as large: the same lift (a frame-relative lift would double).
    framed = _breath_lift(on_larger_canvas(small, 480, 640), 1.0)
    assert 0.8 < framed / base < 1.25, (base, framed)


# -- 4. sway ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sway_on_a_3_s_clip_swings_both_ways_and_settles(small: Character, seed: int) -> None:
    clip = renderer(small, Track("body", "sway", amplitude=0.7, end_s=3.0), seed=seed)
    sideways = series(clip, shoulders(small[1]), axis=0)
    peak = float(np.abs(sideways).max())
    assert sign_changes(sideways, ignore_below=0.05 * peak) >= 2, np.round(sideways, 2).tolist()
    assert abs(sideways[-1]) < 0.05 * peak  # the last frame is a tenth of a second before the end
    expected = SWAY_FACE_H * face_box(small[2]).h * 0.7
    assert 0.75 * expected < peak < 1.05 * expected, (peak, expected)
    # The feet (the frame's bottom edge) hold.
    bottom = max(float(np.abs(content_shift(clip, index)[-1, :, 0]).max()) for index in range(clip.frame_count))
    assert bottom < 0.05 * peak


def test_sway_that_ends_before_the_clip_does_is_at_rest_from_then_on(small: Character) -> None:
    track = Track("body", "sway", amplitude=0.7, end_s=2.5)
    clip = renderer(small, track)
    sideways = series(clip, shoulders(small[1]), axis=0)
    assert sign_changes(sideways, ignore_below=0.05 * float(np.abs(sideways).max())) >= 1
    for index in frames_after(clip, track.end_s):
        assert float(np.abs(content_shift(clip, index)).max()) < 1e-3, f"frame {index} still moves"


# -- 5. nod -------------------------------------------------------------------------------------------


def test_a_nod_moves_the_face_and_hardly_the_background(small: Character) -> None:
    image, truth, parts = small
    face = face_box(parts)
    clip = renderer(small, Track("head", "nod", end_s=3.0))  # the default amplitude
    vertical = series(clip, truth.face_centre, axis=1)
    assert float(np.ptp(vertical)) >= 0.03 * face.h, np.round(vertical, 2).tolist()

    peak = float(np.abs(vertical).max())
    background = truth.labels == 0
    rows = np.arange(image.shape[0])[:, None]
    head = (truth.labels != 0) & ~truth.body_mask & (rows < truth.neck[1])
    from_head = cv2.distanceTransform((~head).astype(np.uint8), cv2.DIST_L2, 5)  # (H, W) px
    far = background & (from_head > face.w)
    assert far.sum() > 0.1 * background.sum()
    for index in range(clip.frame_count):
        moved = np.hypot(*np.moveaxis(content_shift(clip, index), -1, 0))  # (H, W) px
        assert float(np.median(moved[background])) < 0.05 * peak, f"frame {index}"
        assert float(moved[far].max()) < 0.05 * peak, f"frame {index}"
        # The background is a layer of its own: away from the subject it is the input, pixel for pixel.
        assert np.array_equal(clip.frame(index)[far], image[far]), f"frame {index}"


# -- 6. bounce ----------------------------------------------------------------------------------------


def test_a_bounce_lifts_head_and_torso_together_and_the_bottom_edge_holds(small: Character) -> None:
    image, truth, _ = small
    clip = renderer(small, Track("body", "bounce", end_s=3.0))
    shoulder = shoulders(truth)
    torso_middle = (shoulder[0], 0.5 * (shoulder[1] + image.shape[0]))
    head = float(np.abs(series(clip, truth.face_centre, axis=1)).max())
    torso = float(np.abs(series(clip, torso_middle, axis=1)).max())
    assert head > 1.0
    assert torso / head > 0.5, (head, torso)

    # The shirt's outline (where a flat drawing has its only texture) moves with it in full.
    column = round(truth.neck[0]) - round(0.25 * truth.face_box[2])
    outline_row = int(np.flatnonzero(truth.body_mask[:, column])[0])
    outline = float(np.abs(series(clip, (column, outline_row), axis=1)).max())
    assert outline > 0.9 * torso, (outline, torso)

    bottom = max(float(np.abs(content_shift(clip, index)[-1]).max()) for index in range(clip.frame_count))
    assert bottom < 0.1 * head, (bottom, head)


# -- 7. invariants ------------------------------------------------------------------------------------


PLANS: Final[dict[str, tuple[Track, ...]]] = {
    "smile": (Track("mouth", "smile", amplitude=1.0, end_s=3.0),),
    "open": (Track("mouth", "open", amplitude=0.7, start_s=0.3, end_s=2.2),),
    "talk": (Track("mouth", "talk", amplitude=0.7, end_s=2.5),),
    "breathe": (Track("body", "breathe", amplitude=1.0, end_s=3.0),),
    "sway": (Track("body", "sway", amplitude=0.7, end_s=2.5),),
    "nod": (Track("head", "nod", end_s=3.0),),
    "bounce": (Track("body", "bounce", end_s=3.0),),
    "together": (
        Track("mouth", "talk", amplitude=0.7, end_s=2.5),
        Track("mouth", "smile", amplitude=0.7, end_s=3.0),
        Track("body", "breathe", amplitude=1.0, end_s=3.0),
        Track("body", "sway", amplitude=0.7, end_s=3.0),
        Track("head", "nod", end_s=3.0),
    ),
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_every_frame_starts_from_the_input_and_samples_the_canvas(small: Character, name: str) -> None:
    image = small[0]
    clip = renderer(small, *PLANS[name])
    assert np.array_equal(clip.frame(0), image)
    canvas_h, canvas_w = clip.canvas.shape[:2]
    for index in range(clip.frame_count):
        sample = clip.sample_map(index)  # (H, W, 2) canvas (x, y)
        assert sample.shape == (image.shape[0], image.shape[1], 2)
        assert np.isfinite(sample).all()
        assert float(sample[..., 0].min()) >= 0.0 and float(sample[..., 0].max()) <= canvas_w - 1, f"frame {index}"
        assert float(sample[..., 1].min()) >= 0.0 and float(sample[..., 1].max()) <= canvas_h - 1, f"frame {index}"
        frame = clip.frame(index)
        assert frame.shape == image.shape and frame.dtype == np.uint8


# -- 8. eyelids ---------------------------------------------------------------------------------------

# The canvas FaceLayers paints on has margins around the picture (the camera's room), as the renderer's.
_MARGINS: Final = (6, 4)  # left, top (and as much on the right and bottom)


def _luma(pixels: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    luma: npt.NDArray[np.float32] = pixels.astype(np.float32) @ _LUMA
    return luma


def _ellipse(shape: tuple[int, ...], box: Box) -> npt.NDArray[np.bool_]:
    """`(H, W)` True inside the ellipse inscribed in `box`."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    mask: npt.NDArray[np.bool_] = ((xx - box.cx) / (0.5 * box.w)) ** 2 + ((yy - box.cy) / (0.5 * box.h)) ** 2 <= 1
    return mask


def _rows(shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    return np.broadcast_to(np.arange(shape[0], dtype=np.float32)[:, None], shape[:2])


def _moved(box: Box, offset: tuple[int, int]) -> Box:
    return Box(box.x + offset[0], box.y + offset[1], box.w, box.h)


def _with_margins(image: Frame) -> Frame:
    left, top = _MARGINS
    return np.asarray(cv2.copyMakeBorder(image, top, top, left, left, cv2.BORDER_REFLECT_101), dtype=np.uint8)


def lash_line(frame: Frame, box: Box, dark_below: float) -> tuple[float, float]:
    """(share of the eye's columns with a dark pixel between the eye's middle and just under it, spread
    in rows of the lowest such pixel over the middle 60% of the columns): a closed eye's lash line."""
    dark = _luma(frame) < dark_below
    top, bottom = round(box.cy), int(np.ceil(box.y + 1.2 * box.h + 2))
    columns = range(int(np.ceil(box.x)), int(box.x + box.w) + 1)
    found = [column for column in columns if dark[top:bottom, column].any()]
    lowest = [top + int(np.flatnonzero(dark[top:bottom, c])[-1]) for c in found if abs(c - box.cx) <= 0.3 * box.w]
    return len(found) / len(columns), float(max(lowest) - min(lowest)) if lowest else np.inf


def assert_covered_from_above(before: Frame, after: Frame, box: Box) -> npt.NDArray[np.float32]:
    """In every column of the eye (inside its ellipse) the pixels the lid changed lie above those it
    left as they were: a lid over the eye, the eye below it as it is. Returns each column's lowest
    changed row (-1 where none)."""
    inside = _ellipse(before.shape, box)
    changed = (after != before).any(axis=2) & inside
    lowest = np.full(before.shape[1], -1.0, dtype=np.float32)
    for column in np.flatnonzero(inside.any(axis=0)):
        rows = np.flatnonzero(inside[:, column])
        changes = changed[rows, column]
        if changes.any():
            last = int(np.flatnonzero(changes)[-1])
            assert changes[: last + 1].all(), f"column {column}: the eye shows through the lid: {changes.astype(int)}"
            lowest[column] = rows[last]
    return lowest


@cache
def drawn_eyes(seed: int) -> tuple[Frame, npt.NDArray[np.bool_], dict[str, Box], tuple[int, int, int], FaceLayers]:
    """A drawn character on a canvas with margins: the canvas, its eye pixels (the drawing's own labels),
    the eye boxes on it, the iris colour and the layers closing both eyes."""
    image, truth, parts = character(360, 480, seed=seed)
    assert parts.face is not None and parts.face.left_eye is not None and parts.face.right_eye is not None
    canvas = _with_margins(image)
    left, top = _MARGINS
    labels = np.asarray(cv2.copyMakeBorder(truth.labels, top, top, left, left, cv2.BORDER_CONSTANT, value=0))
    eyes = {"left": parts.face.left_eye, "right": parts.face.right_eye}
    eye_pixels = image[truth.labels == _EYE_LABEL].astype(np.int16)
    iris = max(IRIS_COLORS, key=lambda colour: int((np.abs(eye_pixels - colour).sum(axis=1) == 0).sum()))
    layers = FaceLayers(canvas, offset=_MARGINS, eyes=eyes, mouth=None, drawn=True, face=parts.face.box)
    boxes = {side: _moved(box, _MARGINS) for side, box in eyes.items()}
    return canvas, labels == _EYE_LABEL, boxes, iris, layers


def drawn_shares(frame: Frame, eye: npt.NDArray[np.bool_], iris: tuple[int, int, int]) -> tuple[float, float, float]:
    """(iris-coloured, eye-white, skin-coloured) shares of the pixels `eye` marks."""
    pixels = frame[eye].astype(np.float32)
    iris_share = float((np.linalg.norm(pixels - np.array(iris), axis=1) < 40.0).mean())
    white_share = float((pixels.min(axis=1) >= 235.0).mean())
    skin_share = float((np.linalg.norm(pixels - np.array(SKIN), axis=1) < 30.0).mean())
    return iris_share, white_share, skin_share


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_drawn_eye_closes_under_its_own_lid_with_the_lash_line_at_the_bottom(seed: int) -> None:
    canvas, eye_pixels, boxes, iris, layers = drawn_eyes(seed)
    assert set(layers.eyelids) == {"left", "right"}
    for side, box in boxes.items():
        eye = eye_pixels & _ellipse(canvas.shape, Box(box.x - 4, box.y - 4, box.w + 8, box.h + 8))
        iris_open, white_open, _ = drawn_shares(canvas, eye, iris)
        assert iris_open > 0.2 and white_open > 0.1, (side, iris_open, white_open)  # the measures see an eye

        closed = layers.canvas_for({side: 1.0}, 0.0).copy()
        iris_share, white_share, skin_share = drawn_shares(closed, eye, iris)
        assert iris_share <= 0.01, (side, iris_share)
        assert white_share <= 0.03, (side, white_share)
        assert skin_share >= 0.55, (side, skin_share)
        share, spread = lash_line(closed, box, dark_below=100.0)
        assert share >= 0.6, (side, share)
        assert spread <= 0.35 * box.h, (side, spread, box.h)  # a curve across the eye, not a scribble


def test_a_drawn_eyelid_comes_down_over_the_eye_as_it_is() -> None:
    canvas, _, boxes, _, layers = drawn_eyes(0)
    for side, box in boxes.items():
        lowest = [assert_covered_from_above(canvas, layers.canvas_for({side: c}, 0.0), box) for c in (0.3, 0.6, 1.0)]
        # The lid's edge comes down in every column it covers, further the more the eye closes.
        covered = lowest[0] >= 0
        assert covered.sum() >= 0.8 * box.w, (side, int(covered.sum()), box.w)
        assert np.all(lowest[1][covered] >= lowest[0][covered]) and np.all(lowest[2][covered] >= lowest[1][covered])
        assert float(np.mean(lowest[1][covered] - lowest[0][covered])) > 0.15 * box.h

        # Half closed: the top of the eye is under the lid, its lower half exactly as drawn.
        half = layers.canvas_for({side: 0.5}, 0.0)
        inside = _ellipse(canvas.shape, box)
        lower = inside & (_rows(canvas.shape) >= box.cy + 0.2 * box.h)
        upper = inside & (_rows(canvas.shape) < box.y + 0.25 * box.h)
        assert np.array_equal(half[lower], canvas[lower]), side
        assert float((half[upper] != canvas[upper]).any(axis=1).mean()) > 0.8, side


def test_eyelids_leave_the_canvas_as_it_was_when_open_and_between_frames() -> None:
    canvas, _, boxes, _, layers = drawn_eyes(1)
    assert np.array_equal(layers.canvas_for({}, 0.0), canvas)
    assert np.array_equal(layers.canvas_for({"left": 0.0, "right": 0.0}, 0.0), canvas)

    closed = layers.canvas_for({"left": 1.0, "right": 1.0}, 0.0).copy()
    assert not np.array_equal(closed, canvas)
    # Only the eyes and the lids over them change.
    near = np.zeros(canvas.shape[:2], dtype=bool)
    for box in boxes.values():
        near[
            round(box.y - 2.0 * box.h) : round(box.y + 1.5 * box.h), round(box.x - box.w) : round(box.x + 2 * box.w)
        ] = True
    assert np.array_equal(closed[~near], canvas[~near])

    # Each frame is drawn from the picture, whatever the frame before it was.
    assert np.array_equal(layers.canvas_for({"left": 0.0}, 0.0), canvas)
    fresh = FaceLayers(canvas, offset=_MARGINS, eyes=_eye_boxes(1), mouth=None, drawn=True)
    for lids in ({"left": 0.6}, {"left": 1.0, "right": 0.3}, {"right": 0.6}, {"left": 0.3, "right": 0.3}):
        assert np.array_equal(layers.canvas_for(lids, 0.0), fresh.canvas_for(lids, 0.0)), lids
    assert np.array_equal(layers.canvas_for({}, 0.0), canvas)


# A drawn eye at the renderer's size (the engine's 720x960 portrait): its lash line is a thick arc over the
# eye white with a thin gap of skin between them, wider than the white, its ends beside it.
FULL_SIZE: Final = (720, 960)
_LASH_DARK: Final = 100.0  # darker than this: the lash line (and the pupil); the iris and skin are lighter


@cache
def drawn_eye_full_size(seed: int, placed: str = "exact") -> tuple[Frame, npt.NDArray[np.bool_], Box, FaceLayers]:
    """A full-size drawing (no margins: the eye is far from the edges), its eye pixels (the drawing's own
    labels), the left eye's box and the layers closing it, given that box `placed` as a detector may:
    "exact", "low" (a little small and low, as the engine's drawn-face detector put it on the detailed
    illustration) or "wide" (a third wider and a third of the eye to one side, as on the brick wall)."""
    image, truth, parts = character(*FULL_SIZE, seed=seed)
    assert parts.face is not None and parts.face.left_eye is not None
    box = parts.face.left_eye
    given = {
        "exact": box,
        "low": Box(box.x + 0.03 * box.w, box.y + 0.11 * box.h, 0.94 * box.w, 0.94 * box.h),
        "wide": Box(box.x - 0.33 * box.w, box.y + 0.04 * box.h, 1.35 * box.w, 0.96 * box.h),
    }[placed]
    layers = FaceLayers(image, offset=(0, 0), eyes={"left": given}, mouth=None, drawn=True, face=parts.face.box)
    near = np.zeros(truth.labels.shape, dtype=bool)
    near[:, round(box.x - 0.5 * box.w) : round(box.x + 1.5 * box.w)] = True
    return image, (truth.labels == _EYE_LABEL) & near, box, layers


def drawn_rim(eye: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Per column, the eye's lowest pixel as drawn (its soft edge, a pixel under the labels' last row,
    included); beside the eye, its nearest column's (the corners)."""
    columns = np.flatnonzero(eye.any(axis=0))
    lowest = np.array([int(np.flatnonzero(eye[:, column])[-1]) + 1 for column in columns], dtype=np.int64)
    every = np.arange(eye.shape[1])
    after = np.clip(np.searchsorted(columns, every), 1, columns.size - 1)
    nearest = np.where(np.abs(columns[after - 1] - every) <= np.abs(columns[after] - every), after - 1, after)
    rim: npt.NDArray[np.int64] = lowest[nearest]
    return rim


def arc_pixels(image: Frame, eye: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The drawn lash arc: the dark pixels over the eye white (above its top in each column, and beside
    it down to its middle), in the eye's columns and a third of its width beyond."""
    columns = np.flatnonzero(eye.any(axis=0))
    rows = np.flatnonzero(eye.any(axis=1))
    width = int(columns[-1] - columns[0] + 1)
    middle = 0.5 * (rows[0] + rows[-1])
    dark = _luma(image) < _LASH_DARK
    arc = np.zeros(eye.shape, dtype=bool)
    for column in range(int(columns[0]) - width // 3, int(columns[-1]) + width // 3 + 1):
        held = np.flatnonzero(eye[:, column])
        top = int(held[0]) if held.size else round(middle)
        arc[rows[0] - width // 2 : top, column] = dark[rows[0] - width // 2 : top, column]
    return arc


@pytest.mark.parametrize(("seed", "placed"), [(0, "exact"), (3, "exact"), (5, "exact"), (0, "low"), (2, "wide")])
def test_a_drawn_eye_closes_under_its_own_lash_arc(seed: int, placed: str) -> None:
    """The drawn lash arc sits over the eye white with a thin gap of skin between them. The tracer took the
    white's top for the lid's edge: the arc stayed where it was with a white smear under it, and the line
    that closed the eye was a dark U with horns reaching into the cheek. The arc itself comes down: where
    it was is skin, and it lies along the bottom of the opening, the white and the iris gone; so too where
    the eye's box is off as a detector's is."""
    image, eye, box, layers = drawn_eye_full_size(seed, placed)
    assert set(layers.eyelids) == {"left"}
    arc = arc_pixels(image, eye)
    assert arc.sum() > 0.3 * box.w * 4, int(arc.sum())  # the measure sees a thick arc
    lash_colour = np.median(image[arc].astype(np.float32), axis=0)
    closed = layers.canvas_for({"left": 1.0}, 0.0).copy()
    skin = np.linalg.norm(closed.astype(np.float32) - np.array(SKIN), axis=2) < 30.0

    # Where the arc was is skin now, its ends beside the eye included.
    assert float(skin[arc].mean()) >= 0.97, float(skin[arc].mean())
    # The opening is closed: its lid's skin over it, the arc along its bottom.
    iris = tuple(
        int(v) for v in np.median(image[eye & (_luma(image) > _LASH_DARK) & (image.min(axis=2) < 200)], axis=0)
    )
    iris_share, white_share, skin_share = drawn_shares(closed, eye, iris)
    assert iris_share <= 0.01 and white_share <= 0.03 and skin_share >= 0.55, (iris_share, white_share, skin_share)
    share, spread = lash_line(closed, box, dark_below=_LASH_DARK)
    assert share >= 0.6 and spread <= 0.35 * box.h, (share, spread)
    # The line that closes it is the arc's own: its colour, as thick, just above the rim in each column,
    # and no higher beside the eye (no ends curled up into horns), nowhere lower (not into the cheek).
    dark = _luma(closed) < _LASH_DARK
    line = dark & (closed != image).any(axis=2)  # dark where it was not
    assert np.linalg.norm(np.median(closed[line].astype(np.float32), axis=0) - lash_colour) < 12.0
    rim = drawn_rim(eye)
    columns = np.flatnonzero(eye.any(axis=0))
    middle = columns[np.abs(columns - columns.mean()) <= 0.25 * columns.size]
    thickness = float(np.median([np.count_nonzero(arc[:, column]) for column in middle]))
    rows = _rows(image.shape)
    assert not np.any(line & ((rows < rim[None, :] - 2.5 * thickness) | (rows > rim[None, :] + 1))), np.argwhere(
        line & ((rows < rim[None, :] - 2.5 * thickness) | (rows > rim[None, :] + 1))
    )[:5]
    for column in middle:
        assert np.any(line[rim[column] - round(thickness) : rim[column] + 2, column]), column


@pytest.mark.parametrize("seed", [0, 3])
def test_a_drawn_lash_arc_comes_down_whole_as_a_lid(seed: int) -> None:
    """Mid-blink the arc is on its way down, whole: over the eye's middle it is as thick as it was and as
    far down as the closure says, with skin above it where it was and the eye as drawn below it."""
    image, eye, _, layers = drawn_eye_full_size(seed)
    arc = arc_pixels(image, eye)
    rim = drawn_rim(eye)
    columns = np.flatnonzero(eye.any(axis=0))
    middle = columns[np.abs(columns - columns.mean()) <= 0.2 * columns.size]
    arc_top = np.array([np.flatnonzero(arc[:, column])[0] for column in middle], dtype=np.float64)
    arc_bottom = np.array([np.flatnonzero(arc[:, column])[-1] for column in middle], dtype=np.float64)
    heights = []
    for closure in (0.3, 0.6):
        frame = layers.canvas_for({"left": closure}, 0.0).copy()
        dark = (_luma(frame) < _LASH_DARK) & (frame != image).any(axis=2)  # the arc's colour, moved (not the pupil)
        tops, bottoms = [], []
        for index, column in enumerate(middle):
            # The band of the arc's colour nearest under where its top was: the arc come down.
            rows = np.flatnonzero(dark[round(arc_top[index]) :, column]) + round(arc_top[index])
            assert rows.size, column
            run_end = rows[0]
            while run_end + 1 < dark.shape[0] and dark[run_end + 1, column]:
                run_end += 1
            tops.append(rows[0])
            bottoms.append(run_end)
            # Above it: skin, down from where the arc was.
            above = frame[round(arc_top[index]) - 1 : rows[0] - 1, column].astype(np.float32)
            assert np.all(np.linalg.norm(above - np.array(SKIN), axis=1) < 30.0), (closure, column)
        moved = np.median(np.array(bottoms) - arc_bottom)
        expected = closure * np.median(rim[middle] + 1 - arc_bottom)
        assert abs(moved - expected) <= max(2.0, 0.15 * expected), (closure, moved, expected)
        heights.append(float(np.median(np.array(bottoms) - np.array(tops) + 1)))
        # Below the line the eye is as drawn.
        below = np.zeros(eye.shape, dtype=bool)
        for index, column in enumerate(middle):
            below[bottoms[index] + 2 :, column] = True
        assert np.array_equal(frame[below], image[below]), closure
    thickness = float(np.median(arc_bottom - arc_top + 1))
    assert all(0.6 * thickness <= height <= 1.5 * thickness for height in heights), (heights, thickness)


@pytest.mark.parametrize(
    ("size", "seed"), [((360, 480), 0), ((360, 480), 1), ((360, 480), 2), (FULL_SIZE, 0), (FULL_SIZE, 5)]
)
def test_nothing_under_a_drawn_eyes_rim_changes_at_any_closure(size: tuple[int, int], seed: int) -> None:
    """The skin under the eye is the evaluation's control for the mouth: below the eye's rim (and a
    pixel, where the closed line lands), and below the corners beside it, every closure leaves the
    picture bit for bit as it was."""
    image, truth, parts = character(*size, seed=seed)
    assert parts.face is not None and parts.face.left_eye is not None and parts.face.right_eye is not None
    eyes = {"left": parts.face.left_eye, "right": parts.face.right_eye}
    layers = FaceLayers(image, offset=(0, 0), eyes=eyes, mouth=None, drawn=True, face=parts.face.box)
    assert set(layers.eyelids) == {"left", "right"}
    under = np.zeros(image.shape[:2], dtype=bool)
    rows = _rows(image.shape)
    for box in eyes.values():
        near = np.zeros(image.shape[:2], dtype=bool)
        near[:, round(box.x - 0.6 * box.w) : round(box.x + 1.6 * box.w)] = True
        rim = drawn_rim((truth.labels == _EYE_LABEL) & near)
        under |= near & (rows > rim[None, :] + 1)
    for closure in np.linspace(0.1, 1.0, 10):
        frame = layers.canvas_for({"left": float(closure), "right": float(closure)}, 0.0)
        assert np.array_equal(frame[under], image[under]), closure


def _eye_boxes(seed: int) -> dict[str, Box]:
    _, _, parts = character(360, 480, seed=seed)
    assert parts.face is not None and parts.face.left_eye is not None and parts.face.right_eye is not None
    return {"left": parts.face.left_eye, "right": parts.face.right_eye}


# -- 9. a photo's eyelids -----------------------------------------------------------------------------

PHOTO_EYES: Final = [("astronaut.png", "left"), ("astronaut.png", "right"), ("grace_hopper.jpg", "right")]


@cache
def photo(name: str) -> tuple[Frame, FaceGeometry]:
    """A fixture photo and its face as the renderer places it (`Regions.build`): the engine's own
    detection, eye boxes shrunk to the openings and the mouth moved onto the lip line."""
    image = decode_image((FIXTURES / name).read_bytes())
    parts = find_parts(image)
    assert parts.face is not None and parts.face.kind == "photo", name
    return image, FaceGeometry.from_face(parts.face, image)


@cache
def photo_eyelid(name: str, side: str) -> tuple[Frame, FaceGeometry, FaceLayers]:
    """The photo on a canvas with margins, its face, and the layers closing one of its eyes."""
    image, geometry = photo(name)
    canvas = _with_margins(image)
    eyes = {side: geometry.left_eye if side == "left" else geometry.right_eye}
    layers = FaceLayers(canvas, offset=_MARGINS, eyes=eyes, mouth=None, drawn=False, face=geometry.face)
    return canvas, geometry, layers


@pytest.mark.parametrize(("name", "side"), PHOTO_EYES)
def test_a_photos_eye_closes_under_its_own_lid_with_the_lash_line_at_the_bottom(name: str, side: str) -> None:
    canvas, geometry, layers = photo_eyelid(name, side)
    assert side in layers.eyelids
    box = _moved(geometry.eye(side), _MARGINS)
    pixels = canvas.astype(np.float32)
    inside = _ellipse(canvas.shape, box)
    # The iris: the darkest pixels of the opening; the lid's skin: above the lash line, under the brow.
    luma = _luma(canvas)
    iris = pixels[inside & (luma <= np.percentile(luma[inside], 15))].mean(axis=0)
    lid = (
        slice(round(box.y - 0.7 * box.h), round(box.y - 0.15 * box.h)),
        slice(round(box.cx - 0.3 * box.w), round(box.cx + 0.3 * box.w)),
    )
    skin = np.median(pixels[lid].reshape(-1, 3), axis=0)
    apart = float(np.linalg.norm(skin - iris))
    skin_chroma = float(skin.max() - skin.min())

    def shares(frame: Frame, where: npt.NDArray[np.bool_]) -> tuple[float, float, float]:
        values = frame[where].astype(np.float32)
        iris_share = float((np.linalg.norm(values - iris, axis=1) < 0.35 * apart).mean())
        grey = (values.max(axis=1) - values.min(axis=1)) < 0.6 * skin_chroma
        white_share = float((grey & (_luma(values) > float(skin @ _LUMA) - 15.0)).mean())
        skin_share = float((np.linalg.norm(values - skin, axis=1) < 0.45 * apart).mean())
        return iris_share, white_share, skin_share

    # The opening above the closed lid's lash line (which lies along the rim, as dark as the iris).
    opening = inside & (_rows(canvas.shape) < box.y + 0.8 * box.h)
    iris_open, white_open, _ = shares(canvas, opening)
    assert iris_open > 0.2 and white_open > 0.02, (iris_open, white_open)  # the measures see an eye

    closed = layers.canvas_for({side: 1.0}, 0.0).copy()
    iris_share, white_share, skin_share = shares(closed, opening)
    assert iris_share <= 0.01, iris_share
    assert white_share <= 0.03, white_share
    assert skin_share >= 0.55, skin_share
    # Nothing of the iris stays in place anywhere in the opening, lash line included.
    kept = (closed == canvas).all(axis=2) & (np.linalg.norm(pixels - iris, axis=2) < 0.35 * apart)
    assert float(kept[inside].mean()) <= 0.01
    share, spread = lash_line(closed, box, dark_below=0.5 * float((iris + skin) @ _LUMA))
    assert share >= 0.6, share
    assert spread <= 0.5 * box.h, (spread, box.h)
    # The lid is the picture's skin, not a flat fill.
    assert float(_luma(closed[opening]).std()) > 3.0


@pytest.mark.parametrize(("name", "side"), PHOTO_EYES)
def test_a_photos_eyelid_comes_down_over_the_eye_as_it_is(name: str, side: str) -> None:
    canvas, geometry, layers = photo_eyelid(name, side)
    box = _moved(geometry.eye(side), _MARGINS)
    lowest = [assert_covered_from_above(canvas, layers.canvas_for({side: c}, 0.0), box) for c in (0.3, 0.6, 1.0)]
    covered = lowest[2] >= 0
    assert covered.sum() >= 0.8 * box.w
    assert np.all(lowest[1][covered] >= lowest[0][covered]) and np.all(lowest[2][covered] >= lowest[1][covered])

    half = layers.canvas_for({side: 0.5}, 0.0)
    inside = _ellipse(canvas.shape, box)
    lower = inside & (_rows(canvas.shape) >= box.cy + 0.2 * box.h + 1.5)
    upper = inside & (_rows(canvas.shape) < box.y + 0.3 * box.h)
    assert lower.any() and np.array_equal(half[lower], canvas[lower])
    assert float((half[upper] != canvas[upper]).any(axis=1).mean()) > 0.5
    assert np.array_equal(layers.canvas_for({}, 0.0), canvas)


@cache
def rendered_eyelid(name: str, side: str) -> tuple[Frame, Box, FaceLayers]:
    """The photo at the size the engine renders it (`output_size`, `fit_image`: Grace Hopper's eyes are
    larger there than in the file, and both get a lid), on a canvas with margins; the eye's box on it and
    the layers closing that eye."""
    image = decode_image((FIXTURES / name).read_bytes())
    width, height = output_size(image.shape[1], image.shape[0])
    image = fit_image(image, width=width, height=height)
    parts = find_parts(image)
    assert parts.face is not None and parts.face.kind == "photo", name
    geometry = FaceGeometry.from_face(parts.face, image)
    canvas = _with_margins(image)
    eye = geometry.eye(side)
    layers = FaceLayers(canvas, offset=_MARGINS, eyes={side: eye}, mouth=None, drawn=False, face=geometry.face)
    return canvas, _moved(eye, _MARGINS), layers


RENDERED_EYES: Final = [("grace_hopper.jpg", "left"), ("grace_hopper.jpg", "right"), ("astronaut.png", "right")]


@pytest.mark.parametrize(("name", "side"), RENDERED_EYES)
def test_a_closed_photo_eye_keeps_its_eye_in_no_column(name: str, side: str) -> None:
    """A catchlight read as skin put one column's lash line low in the iris (Grace Hopper's right eye):
    the iris above it, stretched down as that column's lid, stayed as a dark streak in the closed eye."""
    canvas, box, layers = rendered_eyelid(name, side)
    assert side in layers.eyelids
    opening = _ellipse(canvas.shape, box) & (_rows(canvas.shape) < box.y + 0.8 * box.h)
    columns = [column for column in np.flatnonzero(opening.any(axis=0)) if np.count_nonzero(opening[:, column]) >= 3]
    dark_level = float(np.percentile(_luma(canvas)[opening], 25))  # the iris, the pupil, the lash line

    def dark_shares(frame: Frame) -> Floats:
        """Per column of the opening: the share of its pixels as dark as the open eye's darkest quarter."""
        dark = _luma(frame) <= dark_level
        return np.array([float(dark[opening[:, column], column].mean()) for column in columns])

    assert np.count_nonzero(dark_shares(canvas) >= 0.3) >= 0.3 * len(columns)  # the measure sees an eye
    closed = layers.canvas_for({side: 1.0}, 0.0)
    shares = dark_shares(closed)
    assert float(shares.max()) <= 0.1, {int(columns[i]): round(float(shares[i]), 2) for i in np.argsort(shares)[-3:]}
    # The lid came down over every column of the opening.
    moved = (closed != canvas).any(axis=2)
    assert all(float(moved[opening[:, column], column].mean()) >= 0.5 for column in columns)


@pytest.mark.parametrize(("name", "side"), RENDERED_EYES)
def test_a_photos_lid_fades_into_the_picture_towards_the_eyes_ends(name: str, side: str) -> None:
    """Grace Hopper's left eye: the lid's columns ended where the eye's search ended, in a hard vertical
    edge down the lid. The lid's change grows from nothing over several columns at each end."""
    canvas, box, layers = rendered_eyelid(name, side)
    closed = layers.canvas_for({side: 1.0}, 0.0)
    change = np.abs(closed.astype(np.int16) - canvas.astype(np.int16)).sum(axis=2).mean(axis=0)  # per column
    changed = np.flatnonzero(change > 0)
    peak = float(change.max())
    # The lid reaches past the opening's ends, towards the eye's corners.
    assert changed[0] < box.x - 1 and changed[-1] > box.x + box.w + 1, (changed[0], changed[-1], box)
    for end, inward in ((int(changed[0]), 1), (int(changed[-1]), -1)):
        # From the last unchanged column inward over six columns, the change grows from next to nothing,
        # by a little per column (a lid cut off in a column changed it by a fifth of its peak at once).
        profile = change[[end - inward + step * inward for step in range(7)]] / peak
        assert float(profile[1:4].max()) <= 0.1, np.round(profile, 3).tolist()
        assert float(np.abs(np.diff(profile)).max()) <= 0.12, np.round(profile, 3).tolist()


@pytest.mark.parametrize(
    ("name", "side", "rendered"), [(*eye, False) for eye in PHOTO_EYES] + [(*eye, True) for eye in RENDERED_EYES]
)
def test_a_photos_cheek_under_the_eye_stays_as_it_is(name: str, side: str, rendered: bool) -> None:
    """The skin under a photo's eye (from a fifth of the eye's height under its box: the lower rim and
    its lashes, where the lid lands), the evaluation's control for the mouth, is bit for bit as it was
    at every closure."""
    if rendered:
        canvas, box, layers = rendered_eyelid(name, side)
    else:
        canvas, geometry, layers = photo_eyelid(name, side)
        box = _moved(geometry.eye(side), _MARGINS)
    assert side in layers.eyelids
    cheek = (_rows(canvas.shape) >= box.y + 1.2 * box.h) & np.broadcast_to(
        np.abs(np.arange(canvas.shape[1]) - box.cx) <= box.w, canvas.shape[:2]
    )
    for closure in np.linspace(0.1, 1.0, 10):
        frame = layers.canvas_for({side: float(closure)}, 0.0)
        assert np.array_equal(frame[cheek], canvas[cheek]), closure


# -- 10. a photo's mouth ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["astronaut.png", "grace_hopper.jpg"])
def test_a_photos_mouth_opens_under_the_upper_lip_and_teeth(name: str) -> None:
    image, geometry = photo(name)
    layers = FaceLayers(image, offset=(0, 0), eyes={}, mouth=geometry.mouth, drawn=False, face=geometry.face)
    mouth = layers.mouth
    assert isinstance(mouth, MouthOpening)
    region = mouth.region
    rows = _rows((region.y1 - region.y0, region.x1 - region.x0))
    above = rows < np.floor(mouth.line - 0.5)  # the rows wholly above the lip line, per column
    assert np.array_equal(layers.canvas_for({}, 0.0), image)

    for opening in (0.5, 1.0):
        frame = layers.canvas_for({}, opening).copy()
        outside = np.ones(image.shape[:2], dtype=bool)
        outside[region.y0 : region.y1, region.x0 : region.x1] = False
        assert np.array_equal(frame[outside], image[outside])
        before, after = region.view(image), region.view(frame)
        assert np.array_equal(after[above], before[above]), "the upper lip or teeth changed"

        # The middle of the mouth: dark, reddish interior in the gap, the lower lip moved down under it.
        gap = opening * mouth.gap
        middle = np.flatnonzero(gap >= 0.8 * float(gap.max()))
        for column in middle:
            line, height = float(mouth.line[column]), float(gap[column])
            inner = after[int(np.ceil(line + 0.5)) : int(np.floor(line + height - 0.5)) + 1, column].astype(np.float32)
            assert inner.shape[0] >= max(1, int(0.6 * height)), (column, line, height)
            assert float(_luma(inner).max()) < 80.0 and np.all(inner[:, 0] > inner[:, 1]), (column, inner)
            lip_rows = np.arange(int(np.ceil(line + height + 1)), int(line + height + mouth.hold))
            shifted = [
                np.interp(row - height, np.arange(before.shape[0]), before[:, column, channel].astype(np.float64))
                for row in lip_rows
                for channel in range(3)
            ]
            moved = after[lip_rows, column].astype(np.float64).reshape(-1)
            assert float(np.abs(moved - np.array(shifted)).mean()) < 6.0, column

    assert np.array_equal(layers.canvas_for({}, 0.0), image)


def test_a_smile_with_teeth_opens_below_the_teeth() -> None:
    image, geometry = photo("astronaut.png")
    layers = FaceLayers(image, offset=(0, 0), eyes={}, mouth=geometry.mouth, drawn=False, face=geometry.face)
    mouth_box = geometry.mouth
    pixels = image.astype(np.float32)
    chroma = pixels.max(axis=2) - pixels.min(axis=2)
    near = np.zeros(image.shape[:2], dtype=bool)
    near[
        round(mouth_box.y - mouth_box.h) : round(mouth_box.y + mouth_box.h),
        round(mouth_box.x) : round(mouth_box.x + mouth_box.w),
    ] = True
    bright = (near & (_luma(image) > 225.0) & (chroma < 45.0)).astype(np.uint8)
    # The upper teeth: the largest bright, greyish patch (a glint on the lower lip is another).
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=8)
    assert count > 1
    teeth = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    assert teeth.sum() > 30  # the smile shows its upper teeth
    opened = layers.canvas_for({}, 1.0)
    assert np.array_equal(opened[teeth], image[teeth])
    assert not np.array_equal(opened, image)


def test_eyes_that_close_together_close_together_or_not_at_all() -> None:
    image, geometry = photo("astronaut.png")
    eyes = {"left": geometry.left_eye, "right": geometry.right_eye}
    assert set(FaceLayers(image, offset=(0, 0), eyes=eyes, mouth=None, drawn=False).eyelids) == {"left", "right"}
    # An eye box on noise holds no lash line: that eye gets no lid, and its pair none either (a wink).
    noisy = image.copy()
    box = geometry.right_eye
    rows = slice(round(box.y - 2 * box.h), round(box.y + 2 * box.h))
    columns = slice(round(box.x - box.w), round(box.x + 2 * box.w))
    noisy[rows, columns] = np.random.default_rng(0).integers(0, 256, noisy[rows, columns].shape, dtype=np.uint8)
    assert FaceLayers(noisy, offset=(0, 0), eyes=eyes, mouth=None, drawn=False).eyelids == {}
    wink = FaceLayers(noisy, offset=(0, 0), eyes={"left": geometry.left_eye}, mouth=None, drawn=False)
    assert set(wink.eyelids) == {"left"}


@pytest.mark.parametrize(
    ("prompt", "note"),
    [
        ("she blinks", "not drawn: eyes blink (no eyelid found in the picture to close), for 'blinks'"),
        ("she winks", "not drawn: eyes wink right (no eyelid found in the picture to close), for 'winks'"),
        ("she laughs", "not drawn: eyes close (no eyelid found in the picture to close)"),  # her eyes shut, laughing
    ],
)
def test_eyes_asked_to_close_where_no_lid_is_found_are_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prompt: str, note: str
) -> None:
    # A photo's lash line lost in shadow finds no lid: the blink (or a laugh's closed eyes) asked for is named in
    # the notes, not dropped without a word; the optimizer's own blinks owe no note.
    from stillmotion.engines.base import RenderRequest
    from stillmotion.engines.live2d import Live2DEngine
    from stillmotion.engines.live2d.rig import face_layers

    image, _ = draw_character(240, 320, seed=1, background="plain")
    png = cv2.imencode(".png", image[..., ::-1])[1].tobytes()
    request = RenderRequest(image=png, prompt=prompt, duration_s=1.0, fps=8, seed=1, prompt_optimizer=True)

    def plan_of() -> dict[str, object]:
        plan = Live2DEngine().render(request, tmp_path / "out.mp4", on_progress=lambda _: None).extra["motion_plan"]
        assert isinstance(plan, dict)
        return plan

    assert plan_of()["notes"] == []
    monkeypatch.setattr(face_layers.Eyelid, "build", staticmethod(lambda *_args, **_kwargs: None))
    plan = plan_of()
    assert note in plan["notes"], plan["notes"]
    drawn = {(t["part"], t["action"]) for t in plan["tracks"]}  # type: ignore[attr-defined]
    assert not drawn & {("eyes", "blink"), ("eyes", "wink"), ("eyes", "close")}, drawn
