"""The live2d renderer on a drawn character, end to end through `ClipRenderer`: the mouth layers (a drawn
line bent into a smile, the dark "D" of an open or talking mouth) and the whole-body motions measured
against the face (breathing, sway, nod, bounce).

The character comes from `support_drawings.draw_character`; its parts are built from the drawing's own
truth (kind "drawn"), so nothing here depends on detection. Frames are small and clips short; nothing
is encoded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from stillmotion.engines.live2d.fields import BREATHE_FACE_H, SWAY_FACE_H
from stillmotion.engines.live2d.parts import Box, Face, Parts
from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.warp import ClipRenderer, RenderSettings
from support_drawings import DrawnTruth, draw_character

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Floats = npt.NDArray[np.float64]
Character = tuple[Frame, DrawnTruth, Parts]

FPS: Final = 10
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


def content_shift(clip: ClipRenderer, index: int) -> Floats:
    """`(H, W, 2)`: how far the content shown at each pixel has moved there (the camera is still)."""
    sample = clip.sample_map(index).astype(np.float64)
    identity = np.stack(np.meshgrid(np.arange(clip.width), np.arange(clip.height)), axis=-1).astype(np.float64)
    offset = np.array([clip.margins.left, clip.margins.top], dtype=np.float64)
    return identity + offset - sample


def series(clip: ClipRenderer, point: tuple[float, float], axis: int) -> Floats:
    """`(T,)` displacement along `axis` (0: x, 1: y) of the content shown at `point` in each frame."""
    x, y = round(point[0]), round(point[1])
    return np.array([content_shift(clip, index)[y, x, axis] for index in range(clip.frame_count)])


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
    return float(np.abs(series(clip, shoulders(drawn[1]), axis=1)).max())


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
