"""A drawn character's hand raised into the picture (`rig/arm.py`): read from the words, drawn beside the face,
in and out of view as the clip runs; on photos and pictures without a face, a note instead."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest

from stillmotion.engines.live2d.engine import as_drawn
from stillmotion.engines.live2d.parts import Parts, find_parts
from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.prompt import parse_prompt
from stillmotion.engines.live2d.regions import fallback_parts
from stillmotion.engines.live2d.render.compositor import ClipRenderer, RenderSettings
from stillmotion.engines.live2d.rig.arm import HAND_NOT_BUST, HAND_NOT_ON_PHOTOS
from support_drawings import DrawnTruth, draw_character

Frame = npt.NDArray[np.uint8]
FPS = 10


def hands(prompt: str) -> list[tuple[str, str | None]]:
    plan = parse_prompt(prompt, duration_s=3.0, optimize=False)
    return [(t.action, t.direction) for t in plan.tracks if t.part == "hand"]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("she waves at the viewer", [("wave", None)]),
        ("she smiles and waves", [("wave", None)]),
        ("waving goodbye with a smile", [("wave", None)]),
        ("thumbs up and a big smile", [("thumbs_up", None)]),
        ("she makes a peace sign and winks", [("peace", None)]),
        ("she puts her hand on her chin and thinks", [("chin", None)]),
        ("she rests her chin on her hand", [("chin", None)]),
        ("she tucks her hair behind her ear", [("hair", None)]),
        ("brushing her hair with her fingers", [("hair", None)]),
        ("she raises her hand", [("raise", None)]),
        # Her left hand is on the picture's right: the direction is the picture's side.
        ("she lifts her left hand", [("raise", "right")]),
        ("她向镜头挥手", [("wave", None)]),
        ("她比了一个剪刀手", [("peace", None)]),
        ("她托着下巴思考", [("chin", None)]),
        ("她竖起大拇指", [("thumbs_up", None)]),
        ("she covers her mouth and giggles", [("mouth", None)]),
        ("she puts her hand on her heart", [("heart", None)]),
        ("她捂着嘴笑", [("mouth", None)]),
        ("她把手放在胸口", [("heart", None)]),
        ("she puts her hand on her hip", []),
        ("the waves crash on the shore", []),
        ("she holds a sword", []),
    ],
)
def test_the_words_for_a_hand(prompt: str, expected: list[tuple[str, str | None]]) -> None:
    assert hands(prompt) == expected


def test_what_hands_do_that_is_not_drawn_is_still_named() -> None:
    plan = parse_prompt("she holds a sword and claps", duration_s=3.0, optimize=False)
    assert any("holds a sword" in note and "hands and arms" in note for note in plan.notes), plan.notes


@cache
def character() -> tuple[Frame, DrawnTruth, Parts]:
    image, truth = draw_character(360, 480, seed=1, background="plain")
    parts = find_parts(image)
    assert parts.face is not None and parts.face.kind == "drawn"
    return image, truth, parts


def render(
    action: str, *, parts: Parts | None = None, loop: bool = False, duration_s: float = 2.0
) -> tuple[ClipRenderer, list[Frame]]:
    image, _, found = character()
    plan = MotionPlan(duration_s, (Track("hand", action, start_s=0.0, end_s=duration_s),))
    settings = RenderSettings(fps=FPS, frame_count=round(duration_s * FPS), seed=3, loop=loop)
    clip = ClipRenderer(image, parts or found, plan, settings)
    return clip, [clip.frame(index) for index in range(clip.frame_count)]


def changed(frame: Frame, first: Frame) -> npt.NDArray[np.bool_]:
    return np.abs(frame.astype(np.int16) - first.astype(np.int16)).max(axis=-1) > 30


def test_a_hand_rises_beside_the_face_on_the_pictures_left() -> None:
    image, truth, _ = character()
    clip, frames = render("raise")
    assert np.array_equal(frames[0], image)  # frame 0 is the picture
    x, y, w, h = truth.face_box
    moved = changed(frames[-1], frames[0])
    ys, xs = np.nonzero(moved)
    assert moved.sum() > 0.01 * moved.size
    # The hand is beside the face on the picture's left (the character's right hand), level with the face, and
    # the forearm runs down to the bottom edge; nothing changes on the face or on the picture's right.
    assert xs.max() < x + 0.2 * w and ys.min() < y + h and ys.max() == image.shape[0] - 1
    assert not moved[int(y) : int(y + h), int(x + 0.25 * w) :].any()
    # The hand is the face's skin, the line the picture's own dark line.
    skin = np.array(truth.skin_color, np.int16)
    hand = frames[-1][: int(y + h)][moved[: int(y + h)]].astype(np.int16)
    assert (np.abs(hand - skin).max(axis=-1) < 25).mean() > 0.4
    (track,) = clip.drawn_tracks
    assert track.part == "hand" and track.region is not None


def test_the_hand_comes_up_from_below_and_goes_down_again_in_a_loop() -> None:
    _, frames = render("raise", loop=True)
    tops = []
    for frame in frames[1:]:
        ys = np.nonzero(changed(frame, frames[0]))[0]
        tops.append(ys.min() if ys.size else frames[0].shape[0])
    # It rises into view, stays, and sinks back out of it: the loop's last frame is its first.
    assert tops[0] > tops[len(tops) // 2] and tops[-2] > tops[len(tops) // 2]
    assert np.abs(frames[-1].astype(np.int16) - frames[0].astype(np.int16)).max() <= 2


def test_the_hand_stays_up_at_the_end_of_a_clip_that_does_not_loop() -> None:
    _, frames = render("raise")
    assert changed(frames[-1], frames[0]).sum() == pytest.approx(changed(frames[-3], frames[0]).sum(), rel=0.1)


def test_a_wave_swings_the_hand_from_side_to_side() -> None:
    _, frames = render("wave", duration_s=2.5)
    raised = [changed(frame, frames[0]) for frame in frames[8:]]
    # The hand's top part (above the face's lower edge) swings: its centre moves left and right.
    _, truth, _ = character()
    bottom = int(truth.face_box[1] + truth.face_box[3])
    centres = [float(np.nonzero(mask[:bottom])[1].mean()) for mask in raised]
    steps = np.sign(np.diff(centres))
    assert (steps[:-1] * steps[1:] < 0).sum() >= 2, centres
    assert max(centres) - min(centres) > 0.05 * truth.face_box[2]


def test_each_gesture_has_its_own_shape() -> None:
    _, truth, _ = character()
    bottom = int(truth.face_box[1] + truth.face_box[3])
    shapes = {}
    for action in ("raise", "thumbs_up", "peace"):
        _, frames = render(action)
        shapes[action] = changed(frames[-1], frames[0])[:bottom]

    # The open palm is the widest near its top; a thumbs up is one thumb there; the V two fingers.
    def top_width(mask: npt.NDArray[np.bool_]) -> int:
        ys = np.nonzero(mask.any(axis=1))[0]
        row = mask[ys.min() + 4]
        return int(row.sum())

    assert top_width(shapes["raise"]) > top_width(shapes["peace"]) > top_width(shapes["thumbs_up"])


def test_the_hand_under_the_chin_is_below_the_face_not_beside_it() -> None:
    _, truth, _ = character()
    x, y, w, h = truth.face_box
    _, frames = render("chin")
    ys, xs = np.nonzero(changed(frames[-1], frames[0]))
    assert ys.min() > y + 0.8 * h
    assert x < np.median(xs[ys < y + 1.4 * h]) < x + w


def test_a_photo_gets_a_note_not_a_cartoon_hand() -> None:
    image, _, parts = character()
    assert parts.face is not None
    photo = replace(parts, face=replace(parts.face, kind="photo"))
    clip, frames = render("wave", parts=photo)
    assert all(np.array_equal(frame, image) for frame in frames)
    assert clip.not_drawn == {"hand": HAND_NOT_ON_PHOTOS}
    assert not clip.drawn_tracks
    # The plan says so, in the user's words (a Chinese prompt's own).
    prompt = "她比了一个剪刀手"
    plan = parse_prompt(prompt, duration_s=2.0, optimize=False)
    noted = as_drawn(plan, (), prompt=prompt, why_not=clip.not_drawn)
    assert any("剪刀手" in note and "illustrations only" in note for note in noted.notes), noted.notes


def test_a_picture_without_a_face_gets_a_note() -> None:
    image, _, _ = character()
    clip, _ = render("raise", parts=fallback_parts(image.shape[1], image.shape[0]))
    assert "hand" in clip.not_drawn and "face" in clip.not_drawn["hand"]


def test_a_figure_shown_below_the_chest_gets_a_note_not_an_arm_from_the_frames_edge() -> None:
    # The same character on a canvas three times as tall (its body continued down): a forearm raised from below
    # the frame would be a pole; its arms are in the picture.
    image, _, _ = character()
    tall = np.concatenate([image, np.repeat(image[-1:], 2 * image.shape[0], axis=0)], axis=0)
    parts = find_parts(tall)
    assert parts.face is not None and parts.face.kind == "drawn"
    plan = MotionPlan(2.0, (Track("hand", "wave", start_s=0.0, end_s=2.0),))
    clip = ClipRenderer(tall, parts, plan, RenderSettings(fps=FPS, frame_count=20, seed=3))
    assert clip.not_drawn == {"hand": HAND_NOT_BUST}
    assert np.array_equal(clip.frame(19), tall)


def test_a_hand_over_the_mouth_covers_it_and_one_on_the_heart_lies_on_the_chest() -> None:
    _, truth, _ = character()
    x, y, w, h = truth.face_box
    mouth_x, mouth_y = truth.mouth
    _, frames = render("mouth")
    over_mouth = changed(frames[-1], frames[0])
    # The mouth's own pixels (its line, not the skin round it, which the hand's skin matches) are hidden.
    rows = slice(round(mouth_y) - 6, round(mouth_y) + 7)
    columns = slice(round(mouth_x) - 12, round(mouth_x) + 13)
    skin = np.array(truth.skin_color, np.int16)
    drawn_mouth = np.abs(frames[0][rows, columns].astype(np.int16) - skin).max(axis=-1) > 40
    assert drawn_mouth.sum() > 5 and over_mouth[rows, columns][drawn_mouth].mean() > 0.9
    eyes_row = round(truth.left_eye[1])
    assert not over_mouth[: eyes_row + 2].any()  # the eyes stay clear
    _, frames = render("heart")
    on_chest = changed(frames[-1], frames[0])
    ys, xs = np.nonzero(on_chest)
    assert ys.min() > y + h  # below the chin
    assert (xs[ys < ys.min() + 0.1 * w] > x + 0.3 * w).all()  # the hand, its top, lies across the chest's middle


def test_from_the_chin_to_the_mouth_the_hand_moves_up_smoothly() -> None:
    # The mouth's place is reckoned from the mouth, the chin's from the face: the change between them blends the
    # two places in pixels (blending their numbers made the hand jump halfway).
    image, _, parts = character()
    plan = MotionPlan(
        2.0, (Track("hand", "chin", start_s=0.0, end_s=1.0), Track("hand", "mouth", start_s=1.0, end_s=2.0))
    )
    clip = ClipRenderer(image, parts, plan, RenderSettings(fps=30, frame_count=60, seed=3))
    tops = [int(np.nonzero(changed(clip.frame(i), image))[0].min()) for i in range(26, 44)]
    assert (np.diff(tops) <= 1).all(), tops  # up (or still), never back down
    assert tops[0] - tops[-1] > 20, tops
