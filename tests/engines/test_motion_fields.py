"""The live2d renderer drawing a `MotionPlan`: each action moves the right region the right way, and
every action keeps the invariants (frame 0 is the input, bounded stretch, samples on the canvas, seeded
determinism, loops that close, stillness, no face needed).

Parts are placed by hand on a synthetic portrait, so nothing here depends on detection.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pytest

from stillmotion.engines.live2d import motion, regions
from stillmotion.engines.live2d.motion import Clock
from stillmotion.engines.live2d.parts import Box, Face, Parts
from stillmotion.engines.live2d.plan import ACTIONS, MotionPlan, Track
from stillmotion.engines.live2d.prompt import parse_prompt
from stillmotion.engines.live2d.regions import FaceGeometry, Grid, fallback_parts
from stillmotion.engines.live2d.render.camera import CameraPath, Margins
from stillmotion.engines.live2d.render.canvas import extend_canvas
from stillmotion.engines.live2d.render.compositor import ClipRenderer, RenderSettings
from stillmotion.engines.live2d.rig.fill import fill_hole
from stillmotion.engines.live2d.rig.layers import mattes_for
from stillmotion.engines.live2d.rig.limits import StretchLimiter, strain_bounds

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Floats = npt.NDArray[np.float64]

WIDTH: Final = 240
HEIGHT: Final = 320
FACE: Final = Box(75.0, 60.0, 90.0, 110.0)
LEFT_EYE: Final = Box(92.0, 102.0, 20.0, 10.0)
RIGHT_EYE: Final = Box(128.0, 102.0, 20.0, 10.0)
MOUTH: Final = Box(104.0, 143.0, 32.0, 10.0)
NECK: Final = (120.0, 190.0)
ALL_MOTIONS: Final = [
    (part, action, direction)
    for part, actions in ACTIONS.items()
    for action, directions in actions.items()
    for direction in sorted(directions, key=lambda d: d or "")
]


def _soft(mask: npt.NDArray[np.bool_], sigma: float = 3.0) -> npt.NDArray[np.float32]:
    import cv2

    return np.asarray(cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma), dtype=np.float32)


def make_portrait(*, kind: str = "drawn") -> tuple[Frame, Parts]:
    """A light, textured picture with a head, hair, eyes, a mouth and shoulders, and its parts by hand."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    image = np.stack(
        [
            180 + 40 * np.sin(xx / 7.0) * np.cos(yy / 9.0),
            200 + 30 * np.cos(xx / 11.0 + yy / 5.0),
            215 + 25 * np.sin((xx - yy) / 6.0),
        ],
        axis=-1,
    )
    head = ((xx - 120) / 58) ** 2 + ((yy - 108) / 68) ** 2 < 1.0
    face = ((xx - FACE.cx) / (FACE.w / 2)) ** 2 + ((yy - FACE.cy) / (FACE.h / 2)) ** 2 < 1.0
    body = (yy > 200) & (np.abs(xx - 120) < 40 + (yy - 200) * 0.8)
    neck = (np.abs(xx - 120) < 16) & (yy > 160) & (yy <= 205)
    hair = head & ~face
    image[hair] = (90, 60, 40)
    image[body] = (60, 80, 150)
    image[face | neck] = (235, 200, 175)
    for eye in (LEFT_EYE, RIGHT_EYE):
        inside = ((xx - eye.cx) / (eye.w / 2)) ** 2 + ((yy - eye.cy) / (eye.h / 2)) ** 2 < 1.0
        image[inside] = (30, 25, 25)
    lips = (np.abs(xx - MOUTH.cx) < MOUTH.w / 2) & (np.abs(yy - MOUTH.cy) < 2.5)
    image[lips] = (150, 50, 60)
    frame = np.clip(image, 0, 255).astype(np.uint8)

    subject = _soft(head | body | neck)
    parts = Parts(
        width=WIDTH,
        height=HEIGHT,
        face=Face(
            box=FACE,
            kind="drawn" if kind == "drawn" else "photo",
            left_eye=LEFT_EYE,
            right_eye=RIGHT_EYE,
            mouth=MOUTH,
            neck=NECK,
        ),
        subject=subject,
        hair=_soft(hair),
        body=_soft(body),
        background=np.asarray(1.0 - subject, dtype=np.float32),
        method="by hand",
    )
    return frame, parts


@pytest.fixture(scope="module")
def portrait() -> tuple[Frame, Parts]:
    return make_portrait()


def renderer(
    portrait: tuple[Frame, Parts],
    *tracks: Track,
    fps: int = 10,
    duration_s: float = 3.0,
    loop: bool = False,
    seed: int = 0,
    still: bool = False,
    parts: Parts | None = None,
) -> ClipRenderer:
    image, found = portrait
    plan = MotionPlan(duration_s=duration_s, tracks=tracks, still=still)
    settings = RenderSettings(fps=fps, frame_count=round(duration_s * fps), seed=seed, loop=loop)
    return ClipRenderer(image, parts or found, plan, settings)


def content_shift(clip: ClipRenderer, index: int, layer: str | None = "face") -> Floats:
    """`(H, W, 2)`: how far the content of `layer` (default the face layer; None: every term in full) shown
    at each pixel has moved there, for a still camera."""
    sample = clip.sample_map(index, layer).astype(np.float64)
    identity = np.stack(np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT)), axis=-1).astype(np.float64)
    offset = np.array([clip.margins.left, clip.margins.top], dtype=np.float64)
    return identity + offset - sample


def track(part: str, action: str, direction: str | None = None, **changes: object) -> Track:
    base = Track(part, action, direction, amplitude=1.0, end_s=3.0)  # type: ignore[arg-type]
    return replace(base, **changes)  # type: ignore[arg-type]


def at(values: Floats, x: float, y: float, axis: int) -> float:
    return float(values[round(y), round(x), axis])


def series(clip: ClipRenderer, x: float, y: float, axis: int) -> Floats:
    return np.array([at(content_shift(clip, i), x, y, axis) for i in range(clip.frame_count)])


# -- invariants, for every action ---------------------------------------------------------------------


@pytest.mark.parametrize(("part", "action", "direction"), ALL_MOTIONS)
def test_frame_zero_is_the_input_for_every_action(
    portrait: tuple[Frame, Parts], part: str, action: str, direction: str | None
) -> None:
    clip = renderer(portrait, track(part, action, direction), duration_s=1.0)
    assert np.array_equal(clip.frame(0), portrait[0])


def singular_values(sample: Floats) -> tuple[Floats, Floats]:
    """Smallest and largest singular values of the sampling map's Jacobian at each pixel."""
    a = np.diff(sample[..., 0], axis=1)[:-1, :]  # d sample_x / dx
    c = np.diff(sample[..., 1], axis=1)[:-1, :]  # d sample_y / dx
    b = np.diff(sample[..., 0], axis=0)[:, :-1]  # d sample_x / dy
    d = np.diff(sample[..., 1], axis=0)[:, :-1]  # d sample_y / dy
    rotation_part = 0.5 * np.hypot(a + d, c - b)
    reflection_part = 0.5 * np.hypot(a - d, b + c)
    return np.abs(rotation_part - reflection_part), rotation_part + reflection_part


def assert_mild_and_on_canvas(clip: ClipRenderer) -> None:
    """Every layer's map keeps samples on the canvas and, where that layer is, the content's stretch mild."""
    canvas_h, canvas_w = clip.canvas.shape[:2]
    mattes = mattes_for(clip.parts, clip.geometry, clip.first_frame)
    for layer, matte in mattes.items():
        # The singular values are per pixel pair (one less row and column); where the layer is.
        inside = np.asarray(matte[:-1, :-1] > 0.0)
        if not inside.any():
            continue
        for index in range(clip.frame_count):
            sample = clip.sample_map(index, layer).astype(np.float64)
            assert sample[..., 0].min() >= -1e-3 and sample[..., 0].max() <= canvas_w - 1 + 1e-3, (layer, index)
            assert sample[..., 1].min() >= -1e-3 and sample[..., 1].max() <= canvas_h - 1 + 1e-3, (layer, index)
            low, high = singular_values(sample)
            low, high = low[inside], high[inside]
            # The content's stretch is the inverse of the sampling map's: within 0.7x .. 1.4x.
            assert 1.0 / high.max() >= 0.7 - 1e-3 and 1.0 / low.min() <= 1.4 + 1e-3, (layer, index)
            assert low.min() > 0.0  # and the map never folds


@pytest.mark.parametrize(("part", "action", "direction"), ALL_MOTIONS)
def test_stretch_stays_mild_and_samples_stay_on_the_canvas_at_full_amplitude(
    portrait: tuple[Frame, Parts], part: str, action: str, direction: str | None
) -> None:
    clip = renderer(portrait, track(part, action, direction), fps=25, duration_s=2.0)
    assert_mild_and_on_canvas(clip)


def test_many_tracks_at_once_still_keep_the_limits(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(
        portrait,
        track("head", "nod", repeats=2),
        track("head", "tilt", "right"),
        track("eyes", "look", "up"),
        track("mouth", "laugh"),
        track("body", "lean", "left"),
        track("hair", "wind", "right"),
        track("clothes", "flutter"),
        track("camera", "zoom", "in"),
        fps=25,
        duration_s=2.0,
    )
    assert_mild_and_on_canvas(clip)


@pytest.mark.parametrize("zoom", ["in", "out"])
def test_strong_local_motion_is_capped_under_a_strong_zoom(portrait: tuple[Frame, Parts], zoom: str) -> None:
    clip = renderer(
        portrait,
        track("head", "shake", repeats=2),
        track("body", "bounce"),
        track("camera", "zoom", zoom),
        fps=25,
        duration_s=2.0,
    )
    assert_mild_and_on_canvas(clip)


@pytest.mark.parametrize("seed", [0, 5])
def test_same_seed_same_frames_and_another_seed_differs(portrait: tuple[Frame, Parts], seed: int) -> None:
    tracks = (
        track("mouth", "talk"),
        track("hair", "wind"),
        track("eyes", "blink", repeats=2),
        track("ambient", "snow"),
    )
    first = renderer(portrait, *tracks, seed=seed)
    again = renderer(portrait, *tracks, seed=seed)
    other = renderer(portrait, *tracks, seed=seed + 1)
    frames = [first.frame(i) for i in range(first.frame_count)]
    assert all(np.array_equal(a, again.frame(i)) for i, a in enumerate(frames))
    assert not all(np.array_equal(a, other.frame(i)) for i, a in enumerate(frames))


def test_a_loop_ends_where_it_began(portrait: tuple[Frame, Parts]) -> None:
    tracks = (
        track("head", "tilt", "left", end_s=2.0),  # a pose that would otherwise be held to the end
        track("mouth", "smile"),
        track("hair", "wind", "left"),
        track("body", "breathe"),
        track("camera", "zoom", "in"),
        track("camera", "pan", "right"),
        track("ambient", "sparkles"),
        track("ambient", "flicker"),
    )
    looped = renderer(portrait, *tracks, loop=True)
    last = looped.frame(looped.frame_count - 1)
    assert np.array_equal(last, portrait[0])
    middle = looped.frame(looped.frame_count // 2).astype(np.int16)
    assert float(np.abs(middle - portrait[0]).mean()) > 2.0  # it did move in between
    # Without `loop` the same plan ends somewhere else.
    open_ended = renderer(portrait, *tracks)
    end = open_ended.frame(open_ended.frame_count - 1).astype(np.int16)
    assert float(np.abs(end - portrait[0]).mean()) > 2.0


def test_a_still_plan_draws_the_first_frame_throughout(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("head", "nod"), track("camera", "zoom", "in"), still=True)
    assert all(np.array_equal(clip.frame(i), portrait[0]) for i in range(clip.frame_count))
    assert any("stillness" in note for note in clip.notes)
    empty = renderer(portrait)
    assert all(np.array_equal(empty.frame(i), portrait[0]) for i in range(empty.frame_count))


def test_motion_changes_smoothly_from_frame_to_frame(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(
        portrait,
        track("head", "nod", repeats=2),
        track("hair", "wind", "right"),
        track("body", "sway"),
        track("camera", "zoom", "in"),
        fps=25,
    )
    maps = [clip.sample_map(i) for i in range(clip.frame_count)]
    steps = [float(np.abs(after - before).max()) for before, after in itertools.pairwise(maps)]
    assert steps[0] < 0.2  # eased in from rest
    assert max(steps) < 3.0  # never a jump
    assert float(np.abs(maps[-1] - maps[0]).max()) > 3.0  # but it moves


def test_tracks_follow_their_start_and_end(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("head", "shake", start_s=1.0, end_s=2.0, repeats=2), fps=20)
    dx = series(clip, FACE.cx, FACE.cy, 0)
    times = clip.clock.times
    assert np.all(dx[times <= 1.0] == 0.0) and np.all(np.abs(dx[times >= 2.0]) < 1e-3)
    during = dx[(times > 1.0) & (times < 2.0)]
    assert during.max() > 2.0 and during.min() < -2.0


def test_no_face_falls_back_to_subject_motion_and_says_so(portrait: tuple[Frame, Parts]) -> None:
    image, _ = portrait
    parts = fallback_parts(WIDTH, HEIGHT)
    clip = renderer(
        portrait,
        track("head", "nod", repeats=2),
        track("eyes", "blink"),
        track("mouth", "smile"),
        track("hair", "wind"),
        track("camera", "pan", "left"),
        parts=parts,
        fps=25,
    )
    notes = " | ".join(clip.notes)
    assert "head.nod: no face found; drawn as a gentle bob" in notes
    assert "eyes.blink: no face found; skipped" in notes and "mouth.smile: no face found; skipped" in notes
    assert clip.layers is None
    assert np.array_equal(clip.frame(0), image)
    assert not np.array_equal(clip.frame(clip.frame_count // 2), image)
    assert_mild_and_on_canvas(clip)


# -- head ---------------------------------------------------------------------------------------------


def test_nod_moves_the_head_down_and_back_and_leaves_the_rest(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("head", "nod", repeats=2, end_s=2.0), fps=25, duration_s=2.0)
    dy = series(clip, FACE.cx, FACE.y + 0.3 * FACE.h, 1)
    assert dy.max() > 4.0 and dy.min() > -0.5  # down, and back
    assert abs(dy[-1]) < 0.05
    # Two nods: two separate peaks.
    peaks = [i for i in range(1, len(dy) - 1) if dy[i] >= dy[i - 1] and dy[i] > dy[i + 1] and dy[i] > 2.0]
    assert len(peaks) == 2
    peak = int(np.argmax(dy))
    shift = content_shift(clip, peak)
    assert np.abs(shift[280:, :]).max() < 0.5  # the lower body stays
    # The background beside the head follows only faintly (the head's weight fades out smoothly).
    assert np.abs(shift[:, :10]).max() < 0.3 * dy.max()
    # The forehead travels further than the chin (a pitch about the neck).
    assert at(shift, FACE.cx, FACE.y + 10, 1) > at(shift, FACE.cx, FACE.y + FACE.h - 5, 1)


def test_shake_swings_the_head_both_ways(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("head", "shake", repeats=2), fps=25)
    dx = series(clip, FACE.cx, FACE.cy, 0)
    assert dx.max() > 3.0 and dx.min() < -3.0
    peak = int(np.argmax(np.abs(dx)))
    assert np.abs(content_shift(clip, peak)[290:, :, 0]).max() < 0.5


@pytest.mark.parametrize(("direction", "sign"), [("right", 1.0), ("left", -1.0)])
def test_tilt_rotates_the_head_about_the_neck(portrait: tuple[Frame, Parts], direction: str, sign: float) -> None:
    clip = renderer(portrait, track("head", "tilt", direction))
    shift = content_shift(clip, clip.frame_count - 1)  # held to the end
    assert sign * at(shift, FACE.cx, FACE.y + 10, 0) > 2.0  # the top goes towards `direction`
    assert sign * at(shift, FACE.x + 10, FACE.cy + 20, 1) < -0.5  # and the side away from it rises
    assert np.abs(shift[290:]).max() < 0.5


@pytest.mark.parametrize(("direction", "sign"), [("right", 1.0), ("left", -1.0)])
def test_turn_shifts_the_features_more_than_the_outline(
    portrait: tuple[Frame, Parts], direction: str, sign: float
) -> None:
    clip = renderer(portrait, track("head", "turn", direction))
    shift = content_shift(clip, clip.frame_count - 1)
    features = sign * at(shift, FACE.cx, FACE.cy, 0)
    outline = sign * at(shift, FACE.x + 2, FACE.cy, 0)
    assert features > 2.0 and features > outline > 0.0


@pytest.mark.parametrize(("direction", "sign"), [("up", -1.0), ("down", 1.0)])
def test_head_look_moves_the_features_vertically(portrait: tuple[Frame, Parts], direction: str, sign: float) -> None:
    clip = renderer(portrait, track("head", "look", direction))
    shift = content_shift(clip, clip.frame_count - 1)
    assert sign * at(shift, FACE.cx, FACE.cy, 1) > 1.5
    assert abs(at(shift, FACE.cx, FACE.cy, 0)) < 0.5


# -- eyes ---------------------------------------------------------------------------------------------


def eye_brightness(frame: Frame, eye: Box) -> float:
    region = frame[round(eye.y) + 2 : round(eye.y + eye.h) - 2, round(eye.x) + 4 : round(eye.x + eye.w) - 4]
    return float(region.mean())


def test_blink_covers_the_eyes_with_skin_and_opens_them_again(portrait: tuple[Frame, Parts]) -> None:
    image, _ = portrait
    clip = renderer(portrait, track("eyes", "blink", end_s=1.0), fps=50, duration_s=1.0)
    closure = clip.local.lids["left"]
    peak = int(np.argmax(closure))
    assert closure[peak] > 0.95 and closure[-1] == 0.0 and np.array_equal(closure, clip.local.lids["right"])
    closed = clip.frame(peak)
    for eye in (LEFT_EYE, RIGHT_EYE):
        # A dark eye on light skin: closed, the opening shows (much brighter) skin.
        assert eye_brightness(closed, eye) > eye_brightness(image, eye) + 80
    assert np.array_equal(clip.frame(clip.frame_count - 1), image)
    # The eyelid layers do it all: no field moves the skin around the eyes (it would drag the bangs' edge).
    assert np.abs(content_shift(clip, peak)).max() == 0.0


def test_eyes_held_closed_close_and_stay_closed(portrait: tuple[Frame, Parts]) -> None:
    # "with her eyes closed", "laughing, closing her eyes": a held state, not a blink that reopens.
    image, _ = portrait
    clip = renderer(portrait, track("eyes", "close", end_s=2.0), fps=10, duration_s=2.0)
    closure = clip.local.lids["left"]
    assert closure[0] == 0.0 and closure[-1] > 0.95 and np.array_equal(closure, clip.local.lids["right"])
    assert np.all(np.diff(closure) >= 0)  # it never opens again
    last = clip.frame(clip.frame_count - 1)
    for eye in (LEFT_EYE, RIGHT_EYE):
        assert eye_brightness(last, eye) > eye_brightness(image, eye) + 80


def test_facing_the_viewer_turns_aside_and_ends_facing_it(portrait: tuple[Frame, Parts]) -> None:
    # "turns her head to the camera" on a picture that already faces it: a little aside, then back, and it
    # ends as the picture began (facing the viewer), not turned away.
    image, _ = portrait
    clip = renderer(portrait, track("head", "face", end_s=3.0), fps=10, duration_s=3.0)
    middle = content_shift(clip, round(0.35 * clip.frame_count))
    assert abs(at(middle, FACE.cx, FACE.cy, 0)) > 1.0
    assert np.abs(content_shift(clip, clip.frame_count - 1)).max() < 0.05
    assert np.abs(clip.frame(clip.frame_count - 1).astype(int) - image.astype(int)).mean() < 1.0


@pytest.mark.parametrize(
    ("direction", "closing", "open_eye"), [("left", LEFT_EYE, RIGHT_EYE), ("right", RIGHT_EYE, LEFT_EYE)]
)
def test_wink_closes_one_eye(portrait: tuple[Frame, Parts], direction: str, closing: Box, open_eye: Box) -> None:
    image, _ = portrait
    clip = renderer(portrait, track("eyes", "wink", direction, end_s=1.0), fps=50, duration_s=1.0)
    peak = int(np.argmax(clip.local.lids[direction]))  # type: ignore[index]
    frame = clip.frame(peak)
    assert eye_brightness(frame, closing) > eye_brightness(image, closing) + 80
    assert abs(eye_brightness(frame, open_eye) - eye_brightness(image, open_eye)) < 15


@pytest.mark.parametrize(
    ("direction", "axis", "sign"), [("left", 0, -1.0), ("right", 0, 1.0), ("up", 1, -1.0), ("down", 1, 1.0)]
)
def test_eyes_look_shifts_the_irises(portrait: tuple[Frame, Parts], direction: str, axis: int, sign: float) -> None:
    clip = renderer(portrait, track("eyes", "look", direction))
    shift = content_shift(clip, clip.frame_count - 1)
    for eye in (LEFT_EYE, RIGHT_EYE):
        assert sign * at(shift, eye.cx, eye.cy, axis) > 1.0
    assert np.abs(shift[round(MOUTH.cy) :]).max() < 0.2  # the mouth and below stay


# -- mouth --------------------------------------------------------------------------------------------


def test_smile_pulls_the_corners_up_and_out(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("mouth", "smile"))
    shift = content_shift(clip, clip.frame_count - 1)
    left = shift[round(MOUTH.cy), round(MOUTH.x + 1)]
    right = shift[round(MOUTH.cy), round(MOUTH.x + MOUTH.w - 1)]
    assert left[1] < -1.5 and right[1] < -1.5  # up
    assert left[0] < -0.3 and right[0] > 0.3  # and out
    assert np.abs(shift[:80]).max() < 0.1 and np.abs(shift[230:]).max() < 0.1


def test_frown_pulls_the_corners_down_and_in(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("mouth", "frown"))
    shift = content_shift(clip, clip.frame_count - 1)
    left = shift[round(MOUTH.cy), round(MOUTH.x + 1)]
    right = shift[round(MOUTH.cy), round(MOUTH.x + MOUTH.w - 1)]
    assert left[1] > 1.2 and right[1] > 1.2  # down
    assert left[0] > 0.1 and right[0] < -0.1  # and in
    assert np.abs(shift[:80]).max() < 0.1 and np.abs(shift[230:]).max() < 0.1


def test_open_drops_the_lower_lip_and_paints_the_mouth_dark(portrait: tuple[Frame, Parts]) -> None:
    image, _ = portrait
    clip = renderer(portrait, track("mouth", "open"))
    last = clip.frame_count - 1
    shift = content_shift(clip, last)
    assert at(shift, MOUTH.cx, MOUTH.y + MOUTH.h + 4, 1) > 1.5  # the lower lip and chin drop
    assert abs(at(shift, MOUTH.cx, MOUTH.y - 12, 1)) < 0.5  # the nose stays
    assert clip.local.mouth_open[last] == pytest.approx(1.0)
    gap = clip.frame(last)[round(MOUTH.cy) - 1 : round(MOUTH.cy) + 3, round(MOUTH.cx) - 6 : round(MOUTH.cx) + 6]
    before = image[round(MOUTH.cy) - 1 : round(MOUTH.cy) + 3, round(MOUTH.cx) - 6 : round(MOUTH.cx) + 6]
    assert float(gap.mean()) < float(before.mean()) - 20


def test_talk_opens_the_mouth_irregularly_and_by_seed(portrait: tuple[Frame, Parts]) -> None:
    first = renderer(portrait, track("mouth", "talk"), fps=25, seed=1).local.mouth_open
    other = renderer(portrait, track("mouth", "talk"), fps=25, seed=2).local.mouth_open
    assert first[0] == 0.0 and first.max() > 0.4
    # Several syllables of different sizes, not one regular wave.
    peaks = [first[i] for i in range(1, len(first) - 1) if first[i - 1] < first[i] >= first[i + 1] and first[i] > 0.1]
    assert len(peaks) >= 5 and np.std(peaks) > 0.03
    assert not np.allclose(first, other)


def test_laugh_opens_the_mouth_and_bobs_the_head(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("mouth", "laugh"), fps=25)
    assert clip.local.mouth_open.max() > 0.7
    dy = series(clip, FACE.cx, FACE.y + 15, 1)
    assert dy.max() - dy[10:].min() > 0.5  # the forehead bobs


# -- body ---------------------------------------------------------------------------------------------


def test_breathe_lifts_the_shoulders_slowly_and_leaves_the_head(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("body", "breathe", end_s=6.0), fps=10, duration_s=6.0)
    frames = range(clip.frame_count)
    dy = np.array([at(content_shift(clip, i, "body"), 120, 200, 1) for i in frames])
    assert dy.min() < -1.0 and dy.max() < 0.05  # up only, and back
    bottom = np.array([at(content_shift(clip, i, "body"), 120, HEIGHT - 2, 1) for i in frames])
    assert np.abs(bottom).max() < 0.05  # the bottom edge holds
    assert all(np.abs(content_shift(clip, i, "face")).max() == 0.0 for i in frames)  # the neck takes it up


def test_breathing_leaves_what_lies_just_under_the_jaw_with_the_head(portrait: tuple[Frame, Parts]) -> None:
    # The hair beside the neck and the jaw's outline over it rose with the shoulders while the face stayed: the
    # outline slid over the hair. The neck takes the lift up, growing from nothing at the chin.
    clip = renderer(portrait, track("body", "breathe", end_s=6.0), fps=10, duration_s=6.0)
    chin = FACE.y + FACE.h
    under_jaw = np.array([at(content_shift(clip, i, "body"), FACE.cx - 20, chin + 1, 1) for i in range(30)])
    shoulders = np.array([at(content_shift(clip, i, "body"), 120, 200, 1) for i in range(30)])
    assert np.abs(under_jaw).max() < 0.15 * np.abs(shoulders).max(), (under_jaw.min(), shoulders.min())


def test_an_asked_breath_is_deeper_than_the_optimizers() -> None:
    asked = next(t for t in parse_prompt("she breathes softly", duration_s=4.0, optimize=True).tracks)
    added = next(t for t in parse_prompt("she smiles", duration_s=4.0, optimize=True).tracks if t.action == "breathe")
    assert (asked.part, asked.action, asked.source) == ("body", "breathe", "prompt")
    assert asked.amplitude >= 1.5 * added.amplitude, (asked, added)


def test_sway_grows_with_height_and_the_bottom_holds(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("body", "sway", end_s=6.0), fps=10, duration_s=6.0)
    top = series(clip, 120, 120, 0)
    low = series(clip, 120, 280, 0)
    assert top.max() > 1.0 and top.min() < -1.0
    assert np.abs(low).max() < np.abs(top).max()
    assert np.abs(series(clip, 120, HEIGHT - 1, 0)).max() < 0.05


@pytest.mark.parametrize(("direction", "sign"), [("left", -1.0), ("right", 1.0)])
def test_lean_shears_the_subject_sideways(portrait: tuple[Frame, Parts], direction: str, sign: float) -> None:
    clip = renderer(portrait, track("body", "lean", direction))
    shift = content_shift(clip, clip.frame_count - 1)
    assert sign * at(shift, 120, 100, 0) > 2.0
    assert sign * at(shift, 120, 100, 0) > sign * at(shift, 120, 260, 0)


@pytest.mark.parametrize(("direction", "sign"), [("forward", -1.0), ("back", 1.0)])
def test_lean_forward_grows_the_subject_and_back_shrinks_it(
    portrait: tuple[Frame, Parts], direction: str, sign: float
) -> None:
    clip = renderer(portrait, track("body", "lean", direction))
    shift = content_shift(clip, clip.frame_count - 1)
    assert sign * at(shift, 120, 80, 1) > 1.0  # forward: the head rises (the upper body grows)


def test_bounce_lifts_the_subject_repeatedly(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("body", "bounce", repeats=3), fps=25)
    dy = series(clip, 120, 120, 1)
    assert dy.min() < -2.0 and dy.max() < 0.05
    dips = [i for i in range(1, len(dy) - 1) if dy[i] <= dy[i - 1] and dy[i] < dy[i + 1] and dy[i] < -1.0]
    assert len(dips) == 3


# -- hair and clothes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("direction", "sign"), [("right", 1.0), ("left", -1.0)])
def test_wind_blows_the_hair_more_at_its_ends(portrait: tuple[Frame, Parts], direction: str, sign: float) -> None:
    clip = renderer(portrait, track("hair", "wind", direction), fps=20)
    shifts = [content_shift(clip, i, "back_hair") for i in range(clip.frame_count)]
    hair = portrait[1].hair > 0.5
    ends, roots = hair.copy(), hair.copy()
    ends[:140], roots[80:] = False, False  # the hair hanging lowest; the hair on the crown, near its roots
    end = np.array([sign * s[ends, 0].mean() for s in shifts])
    root = np.array([sign * s[roots, 0].mean() for s in shifts])
    assert end[10:].mean() > 1.0 and end[10:].mean() > 3.0 * root[10:].mean()
    # The face and the body are other layers: the wind does not move them at all.
    for layer in ("face", "body"):
        assert all(np.abs(content_shift(clip, i, layer)).max() == 0.0 for i in range(clip.frame_count))
    # Ripples: the motion at the tips keeps changing, not a single push.
    assert np.std(end[10:]) > 0.1


def test_flutter_ripples_without_a_steady_push(portrait: tuple[Frame, Parts]) -> None:
    wind = renderer(portrait, track("hair", "wind", "right"), fps=20)
    flutter = renderer(portrait, track("hair", "flutter"), fps=20)
    tip = (66, 165)  # low in the hair, beside the neck
    wind_dx = np.array([at(content_shift(wind, i, "back_hair"), *tip, 0) for i in range(wind.frame_count)])
    flutter_dx = np.array([at(content_shift(flutter, i, "back_hair"), *tip, 0) for i in range(flutter.frame_count)])
    assert abs(flutter_dx.mean()) < 0.5 * abs(wind_dx.mean())
    assert np.std(flutter_dx) > 0.05
    assert np.abs(flutter_dx).max() < np.abs(wind_dx).max()


def test_clothes_wind_grows_below_the_shoulders(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("clothes", "wind", "left"), fps=20)
    low = np.array([at(content_shift(clip, i, "body"), 120, 300, 0) for i in range(clip.frame_count)])
    high = np.array([at(content_shift(clip, i, "body"), 120, 205, 0) for i in range(clip.frame_count)])
    assert low[10:].mean() < -0.5 and low[10:].mean() < high[10:].mean()
    assert np.abs(series(clip, FACE.cx, FACE.cy, 0)).max() < 0.05  # the face stays


# -- camera -------------------------------------------------------------------------------------------


def camera_flow(clip: ClipRenderer, index: int) -> Floats:
    """How far content moved at each pixel (camera moves included), in output pixels."""
    return content_shift(clip, index)


@pytest.mark.parametrize(
    ("action", "direction", "axis", "sign"),
    [("pan", "right", 0, -1.0), ("pan", "left", 0, 1.0), ("tilt", "up", 1, 1.0), ("tilt", "down", 1, -1.0)],
)
def test_pan_and_tilt_follow_film_language(
    portrait: tuple[Frame, Parts], action: str, direction: str, axis: int, sign: float
) -> None:
    clip = renderer(portrait, track("camera", action, direction))
    flow = camera_flow(clip, clip.frame_count - 1)
    centre = flow[HEIGHT // 2, WIDTH // 2]
    assert sign * centre[axis] > 5.0  # pan right: content moves left; tilt up: content moves down
    assert abs(centre[1 - axis]) < 0.5


@pytest.mark.parametrize(("direction", "sign"), [("in", 1.0), ("out", -1.0)])
def test_zoom_flows_outwards_or_inwards(portrait: tuple[Frame, Parts], direction: str, sign: float) -> None:
    clip = renderer(portrait, track("camera", "zoom", direction))
    flow = camera_flow(clip, clip.frame_count - 1)
    assert sign * flow[10, 10, 0] < -3.0 and sign * flow[10, 10, 1] < -3.0  # top-left corner: up-left for "in"
    assert sign * flow[-10, -10, 0] > 3.0 and sign * flow[-10, -10, 1] > 3.0
    assert np.abs(flow[HEIGHT // 2, WIDTH // 2]).max() < 0.6  # the centre stays
    if direction == "out":
        assert min(clip.margins.left, clip.margins.top, clip.margins.right, clip.margins.bottom) > 5


def test_static_camera_does_not_move_at_all(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("camera", "static"), track("camera", "zoom", "in"), track("camera", "pan", "left"))
    assert all(clip.camera.is_still(i) for i in range(clip.frame_count))
    assert all(np.array_equal(clip.frame(i), portrait[0]) for i in range(clip.frame_count))


def test_a_revealing_camera_shows_picture_content_never_black(portrait: tuple[Frame, Parts]) -> None:
    clip = renderer(portrait, track("camera", "zoom", "out"), track("camera", "pan", "left"))
    last = clip.frame(clip.frame_count - 1)
    edges = np.concatenate([last[:3].reshape(-1, 3), last[-3:].reshape(-1, 3), last[:, :3].reshape(-1, 3)])
    assert edges.min() > 15  # the synthetic picture has nothing darker than its eyes
    assert float(edges.mean()) > 100


def test_extended_canvas_keeps_the_image_exact_and_continues_it_sharply() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(60, 255, (50, 70, 3), dtype=np.uint8)
    margins = Margins(left=20, top=10, right=5, bottom=30)
    canvas = extend_canvas(image, margins)
    assert canvas.shape == (50 + 40, 70 + 25, 3)
    assert np.array_equal(canvas[10:60, 20:90], image)
    far = canvas[-10:].astype(np.float64)  # deep in the bottom padding
    assert far.min() > 40  # no black
    # Not a blur: the padding keeps the picture's grain (texture synthesis, `render.canvas.extend_canvas`).
    assert np.abs(np.diff(far, axis=1)).mean() > 0.6 * np.abs(np.diff(image.astype(np.float64), axis=1)).mean()


def test_camera_margins_cover_every_frame() -> None:
    clock = Clock.for_frames(30, fps=10, loop=False)
    path = CameraPath.from_tracks(
        (Track("camera", "zoom", "out", amplitude=1.0, end_s=3.0), Track("camera", "pan", "right", end_s=3.0)),
        clock,
        width=200,
        height=100,
    )
    margins = path.margins(width=200, height=100, reach_px=0.0, guard_px=0)
    for index in range(30):
        xs, ys = path.scene_points(
            index, np.array([0.0, 199.0], np.float32), np.array([0.0, 99.0], np.float32), width=200, height=100
        )
        assert xs.min() >= -margins.left - 1e-3 and xs.max() <= 199 + margins.right + 1e-3
        assert ys.min() >= -margins.top - 1e-3 and ys.max() <= 99 + margins.bottom + 1e-3
    assert margins.right > margins.left  # a pan right reveals on the right


# -- ambient ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("effect", sorted(ACTIONS["ambient"]))
def test_ambient_effects_fade_in_draw_and_repeat_by_seed(portrait: tuple[Frame, Parts], effect: str) -> None:
    image, _ = portrait
    clip = renderer(portrait, track("ambient", effect), fps=10, seed=3)
    again = renderer(portrait, track("ambient", effect), fps=10, seed=3)
    assert np.array_equal(clip.frame(0), image)
    # Pixels clearly changed (a particle, or light on the whole frame), per frame.
    changed = [int((np.abs(clip.frame(i).astype(np.int16) - image).max(axis=2) > 5).sum()) for i in range(30)]
    assert changed[1] < max(changed)  # fading in
    assert max(changed) > 40
    assert all(np.array_equal(clip.frame(i), again.frame(i)) for i in (5, 17, 29))


def test_glow_brightens_and_flicker_wavers(portrait: tuple[Frame, Parts]) -> None:
    image, _ = portrait
    glow = renderer(portrait, track("ambient", "glow"), fps=10)
    assert float(glow.frame(20).mean()) > float(image.mean()) + 3
    flicker = renderer(portrait, track("ambient", "flicker"), fps=25)
    means = [float(flicker.frame(i).mean()) for i in range(flicker.frame_count)]
    assert max(means) - min(means) > 2.0
    assert max(abs(b - a) for a, b in itertools.pairwise(means)) < 8.0  # a waver, not a strobe


def test_the_lights_flicker_more_than_what_they_light() -> None:
    # A neon sign on a dark street: the sign's brightness swings far more than the wall around it (a flicker of
    # the whole frame by a few percent could not be seen on a sign).
    image = np.full((120, 160, 3), 40, np.uint8)
    image[50:70, 40:120] = (255, 60, 200)
    clip = renderer((image, fallback_parts(160, 120)), track("ambient", "flicker"), fps=25)
    sign = [float(clip.frame(i)[50:70, 40:120].mean()) for i in range(clip.frame_count)]
    wall = [float(clip.frame(i)[:40].mean()) for i in range(clip.frame_count)]
    sign_swing = (max(sign) - min(sign)) / float(image[50:70, 40:120].mean())
    wall_swing = (max(wall) - min(wall)) / 40.0
    assert sign_swing > 0.1, sign_swing
    assert sign_swing > 3 * wall_swing, (sign_swing, wall_swing)


# -- pieces -------------------------------------------------------------------------------------------


def test_time_curves_start_at_rest_and_follow_repeats() -> None:
    clock = Clock.for_frames(60, fps=20, loop=False)
    nod = Track("head", "nod", repeats=3, end_s=3.0)
    phase = motion.cycle_phase(nod, clock, cycles=3)
    assert phase[0] == 0.0 and phase[-1] == pytest.approx(3.0, abs=0.02)
    pose = motion.pose_curve(Track("mouth", "smile", start_s=1.0, end_s=2.0), clock)
    assert np.all(pose[clock.times <= 1.0] == 0.0) and pose.max() == pytest.approx(1.0)
    assert pose[-1] == 0.0  # the track ends before the clip: the pose is released
    held = motion.pose_curve(Track("mouth", "smile", end_s=3.0), clock)
    assert held[-1] == pytest.approx(1.0)  # runs to the end: held
    blinks = motion.event_curve(Track("eyes", "blink", repeats=3, end_s=3.0), clock, np.random.default_rng(0))
    closed_runs = sum(1 for a, b in itertools.pairwise(blinks > 0.5) if b and not a)
    assert blinks[0] == 0.0 and closed_runs == 3


def test_loop_clock_makes_whole_cycles() -> None:
    clock = Clock.for_frames(50, fps=25, loop=True)
    hz = clock.frequency(0.7)
    assert (hz * clock.end_s) == pytest.approx(round(hz * clock.end_s))
    ramp = motion.ramp_curve(Track("camera", "zoom", "in", end_s=2.0), clock)
    assert ramp[0] == 0.0 and ramp[-1] == pytest.approx(0.0, abs=1e-9) and ramp.max() > 0.99


def test_strain_bounds_of_known_fields() -> None:
    grid = Grid.for_frame(80, 60, cell_px=4)
    stretch_only = regions.vector(0.1 * grid.x, np.zeros_like(grid.y), grid.shape)  # 10% stretch along x
    stretch, rotation = strain_bounds(stretch_only, grid.cell_px)
    assert np.allclose(stretch[:, :-1], 0.1, atol=1e-4) and np.allclose(rotation, 0.0, atol=1e-6)
    spin = regions.vector(-0.05 * grid.y, 0.05 * grid.x, grid.shape)  # a small rotation
    stretch, rotation = strain_bounds(spin, grid.cell_px)
    assert np.allclose(stretch[:-1, :-1], 0.0, atol=1e-5) and np.allclose(rotation[:-1, :-1], 0.05, atol=1e-5)
    limiter = StretchLimiter()
    assert limiter.scale(np.full((4, 4), 0.1, np.float32), np.zeros((4, 4), np.float32)) == 1.0
    capped = limiter.scale(np.full((4, 4), 1.0, np.float32), np.zeros((4, 4), np.float32))
    assert 0.2 < capped < 0.3  # 1 - s >= ~0.73 -> s <= ~0.27


def test_photo_eye_boxes_shrink_to_the_openings_and_the_mouth_finds_the_lip_line() -> None:
    image, parts = make_portrait(kind="photo")
    assert parts.face is not None
    loose = replace(
        parts.face,
        left_eye=Box(LEFT_EYE.cx - 15, LEFT_EYE.cy - 12, 30, 30),  # a Haar-like square around the eye
        mouth=Box(MOUTH.x, MOUTH.y - 14, MOUTH.w, MOUTH.h),  # an estimate placed too high
    )
    geometry = FaceGeometry.from_face(loose, image)
    assert abs(geometry.left_eye.cy - LEFT_EYE.cy) < 3 and geometry.left_eye.h < 20
    assert abs(geometry.mouth.cy - MOUTH.cy) < 3
    drawn = FaceGeometry.from_face(replace(loose, kind="drawn"), image)
    assert drawn.left_eye == loose.left_eye  # drawings are taken as detected


def test_missing_features_are_estimated_and_reported(portrait: tuple[Frame, Parts]) -> None:
    _, parts = portrait
    assert parts.face is not None
    bare = replace(parts, face=Face(box=FACE, kind="drawn"))
    clip = renderer(portrait, track("eyes", "blink", end_s=1.0), parts=bare, duration_s=1.0)
    assert any("estimated from the face box: left_eye, right_eye, mouth, neck" in note for note in clip.notes)
    assert clip.layers is not None and set(clip.layers.eyelids) == {"left", "right"}


def test_fill_hole_blends_from_the_surroundings() -> None:
    patch = np.zeros((20, 30, 3), dtype=np.float32)
    patch[:, :15] = 100.0
    patch[:, 15:] = 200.0
    known = np.ones((20, 30), dtype=np.float32)
    known[5:15, 10:20] = 0.0
    patch[5:15, 10:20] = 0.0  # the hole's own content must not leak in
    filled = fill_hole(patch, known)
    hole = filled[5:15, 10:20, 0]
    assert hole.min() > 90 and hole.max() < 210
    assert hole[:, 0].mean() < hole[:, -1].mean()  # darker towards the dark side
    assert np.array_equal(filled[known > 0], patch[known > 0])
