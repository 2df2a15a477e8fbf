"""The prompt-corpus scorer on tiny synthetic clips: drawn, only noted, silently dropped."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import prompt_eval as pe

Frame = npt.NDArray[np.uint8]
WIDTH, HEIGHT, FRAMES, FPS = 240, 180, 13, 12.0
# The left third is water; the rest is what should stay still.
WATER = np.zeros((HEIGHT, WIDTH), dtype=bool)
WATER[:, :80] = True
MASKS = {"water": WATER, "still": ~WATER}


def texture(seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (HEIGHT + 40, WIDTH + 40)).astype(np.float32)
    grey = np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 3 - 255, 0, 255).astype(np.uint8)
    return np.asarray(np.repeat(grey[..., None], 3, axis=2), dtype=np.uint8)


def clip(*, moving: npt.NDArray[np.bool_] | None) -> pe.Observed:
    """FRAMES frames of a still texture; inside `moving` a second texture flows down 1.5 px a frame."""
    return pe.observe(flowing_frames(moving), fps=FPS, masks=MASKS)


def flowing_frames(moving: npt.NDArray[np.bool_] | None) -> list[Frame]:
    still, flowing = texture(1), texture(2)
    frames = []
    for t in range(FRAMES):
        frame = still[:HEIGHT, :WIDTH].copy()
        if moving is not None:
            shift = round(1.5 * t)
            frame[moving] = flowing[40 - shift : 40 - shift + HEIGHT, :WIDTH][moving]
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def still_clip() -> pe.Observed:
    return clip(moving=None)


def test_motion_only_inside_the_region_is_drawn(still_clip: pe.Observed) -> None:
    check = pe.judge("water_flow", clip(moving=WATER), still_clip, ["water"])
    assert check.passed, check.detail
    verdict = pe.classify("water_flow", check, "the river flows", notes=[])
    assert verdict.status == "drawn"


def test_motion_everywhere_is_not_drawn_in_the_region(still_clip: pe.Observed) -> None:
    everywhere = np.ones((HEIGHT, WIDTH), dtype=bool)
    check = pe.judge("water_flow", clip(moving=everywhere), still_clip, ["water"])
    assert not check.passed, check.detail
    assert "outside" in check.detail


def test_motion_the_idle_control_also_has_is_not_drawn() -> None:
    moving = clip(moving=WATER)
    check = pe.judge("water_flow", moving, moving, ["water"])
    assert not check.passed
    assert "x1.0 the idle control" in check.detail


def test_no_motion_with_a_note_quoting_the_words_is_only_noted(still_clip: pe.Observed) -> None:
    check = pe.judge("water_flow", still_clip, still_clip, ["water"])
    assert not check.passed
    notes = ["not animated: 'the river flows' is not something the live2d engine can draw"]
    verdict = pe.classify("water_flow", check, "The river flows gently", notes)
    assert verdict.status == "noted"
    assert "the river flows" in verdict.detail


def test_no_motion_and_no_note_is_silently_dropped(still_clip: pe.Observed) -> None:
    check = pe.judge("water_flow", still_clip, still_clip, ["water"])
    assert pe.classify("water_flow", check, "the river flows", notes=[]).status == "silent"


def test_a_note_must_quote_the_prompt_words_that_ask_for_the_concept(still_clip: pe.Observed) -> None:
    check = pe.judge("water_flow", still_clip, still_clip, ["water"])
    prompt = "the river flows and she smiles"
    about_smile = ["not animated: 'she smiles' is not something the live2d engine can draw"]
    assert pe.classify("water_flow", check, prompt, about_smile).status == "silent"
    not_from_prompt = ["not animated: 'the river' is not something the live2d engine can draw"]
    assert pe.classify("water_flow", check, "la rivière coule", not_from_prompt).status == "silent"
    whole = [f"no motion understood in {prompt!r}"]
    assert pe.classify("water_flow", check, prompt, whole).status == "noted"


def test_a_note_that_the_language_is_not_read_notes_every_concept(still_clip: pe.Observed) -> None:
    check = pe.judge("water_flow", still_clip, still_clip, ["water"])
    notes = ["prompt language not read: only English prompts are understood"]
    assert pe.classify("water_flow", check, "河水流淌", notes).status == "noted"


def test_a_colour_change_inside_the_region_is_drawn_as_a_colour_effect(still_clip: pe.Observed) -> None:
    base = texture(1)[:HEIGHT, :WIDTH]
    frames = []
    for t in range(FRAMES):
        frame = base.astype(np.int16)
        frame[WATER, 0] += 4 * t  # the region reddens, as a blush would
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    reddening = pe.observe(frames, fps=FPS, masks={**MASKS, "cheeks": WATER})
    control = pe.observe([base] * FRAMES, fps=FPS, masks={**MASKS, "cheeks": WATER})
    check = pe.judge("blush", reddening, control, ["cheeks"])
    assert check.passed, check.detail
    assert not pe.judge("blush", control, control, ["cheeks"]).passed


def test_a_still_camera_request_is_drawn_on_a_still_clip(still_clip: pe.Observed) -> None:
    assert pe.judge("camera_static", still_clip, None, []).passed


def _box(x0: int, y0: int, x1: int, y1: int) -> npt.NDArray[np.bool_]:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


# A portrait's hand_area in three parts (beside the face either side, under the chin) and, below each, the
# path of the arm that raises a hand there (scenes._character_masks).
HAND_PARTS = {
    "hand_area_left": _box(0, 20, 60, 100),
    "hand_area_right": _box(180, 20, 240, 100),
    "hand_area_chin": _box(95, 100, 145, 125),
    "arm_left": _box(0, 100, 80, 180),
    "arm_right": _box(160, 100, 240, 180),
    "arm_chin": _box(75, 125, 165, 180),
}


def hand_clip(moving: npt.NDArray[np.bool_] | None, *, parts: bool = True) -> pe.Observed:
    hand_area = HAND_PARTS["hand_area_left"] | HAND_PARTS["hand_area_right"] | HAND_PARTS["hand_area_chin"]
    masks = {"hand_area": hand_area, "still": ~hand_area}
    if parts:
        masks |= HAND_PARTS
    return pe.observe(flowing_frames(moving), fps=FPS, masks=masks)


def test_a_hand_raised_on_its_arm_beside_the_face_is_drawn() -> None:
    still = hand_clip(None)
    raised = HAND_PARTS["hand_area_left"] | _box(15, 100, 45, HEIGHT)  # the hand, and the forearm under it
    check = pe.judge("raise_hand", hand_clip(raised), still, ["hand_area"])
    assert check.passed, check.detail
    assert "hand_area_left" in check.detail
    # Judged as one region, with the arm counted as motion elsewhere, the same clip was not drawn.
    whole = pe.judge("raise_hand", hand_clip(raised, parts=False), hand_clip(None, parts=False), ["hand_area"])
    assert not whole.passed, whole.detail


def test_a_hand_moving_with_everything_else_is_not_drawn() -> None:
    still = hand_clip(None)
    everywhere = np.ones((HEIGHT, WIDTH), dtype=bool)
    check = pe.judge("raise_hand", hand_clip(everywhere), still, ["hand_area"])
    assert not check.passed, check.detail
    assert "outside" in check.detail
