"""An animal's tail and ears: found in the subject's outline, read from the prompt, wagged and twitched on a
layer of their own; where the picture has none, the plan's notes say so, quoting the prompt."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from stillmotion.engines.base import RenderRequest
from stillmotion.engines.live2d import Live2DEngine
from stillmotion.engines.live2d.parts import Parts, find_parts
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.prompt import parse_prompt
from stillmotion.engines.live2d.rig.animal import find_ears, find_tail

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scenes
from illustrations import png_bytes


@pytest.fixture(scope="module")
def cat() -> tuple[scenes.Scene, Parts]:
    scene = scenes.cat()
    return scene, find_parts(scene.image)


@pytest.fixture(scope="module")
def dog() -> tuple[scenes.Scene, Parts]:
    scene = scenes.dog()
    return scene, find_parts(scene.image)


def share(found: np.ndarray, truth: np.ndarray) -> float:
    """The share of `found` that lies in `truth`."""
    return float((found & truth).sum() / max(int(found.sum()), 1))


def test_the_cats_raised_tail_is_found_and_rooted_at_the_body(cat: tuple[scenes.Scene, Parts]) -> None:
    scene, parts = cat
    tail = find_tail(parts)
    assert tail is not None
    assert share(tail.mask, scene.masks["tail"]) > 0.8
    assert tail.length > 0.2 * min(scene.image.shape[:2])
    # Rooted low, where the tail leaves the body; it rises from there.
    rows = np.nonzero(tail.mask)[0]
    assert tail.root[1] > rows.mean()


def test_a_round_subject_without_a_tail_has_none() -> None:
    image = np.full((240, 320, 3), 200, np.uint8)
    yy, xx = np.mgrid[0:240, 0:320]
    image[(xx - 160) ** 2 + (yy - 130) ** 2 < 70**2] = (180, 90, 40)
    assert find_tail(find_parts(image)) is None


def test_pointed_ears_stand_above_the_cats_face_and_floppy_ones_hang_beside_the_dogs(
    cat: tuple[scenes.Scene, Parts], dog: tuple[scenes.Scene, Parts]
) -> None:
    for (scene, parts), above in ((cat, True), (dog, False)):
        ears = find_ears(parts)
        assert len(ears) == 2, scene.name
        assert ears[0].root[0] < ears[1].root[0]
        for ear in ears:
            assert share(ear.mask, scene.masks["ears"]) > 0.5, scene.name
            rows = np.nonzero(ear.mask)[0]
            # A pointed ear turns about its base, below its tip; a floppy one about its top.
            assert (ear.root[1] > rows.mean()) == above, scene.name


@pytest.mark.parametrize(
    ("prompt", "wanted"),
    [
        ("the cat swishes its tail", {("tail", "wag")}),
        ("the dog wags its tail happily", {("tail", "wag")}),
        ("kitten's ears twitch, tail flicking", {("ears", "twitch"), ("tail", "wag")}),
        ("one ear twitching at a distant sound", {("ears", "twitch")}),
        ("the dog pants happily", {("mouth", "talk"), ("body", "breathe")}),
        ("小狗摇尾巴", {("tail", "wag")}),
        ("猫咪眨眼，耳朵动了一下", {("eyes", "blink"), ("ears", "twitch")}),  # noqa: RUF001  (a Chinese comma)
    ],
)
def test_tails_and_ears_are_read_from_the_prompt(prompt: str, wanted: set[tuple[str, str]]) -> None:
    plan = parse_prompt(prompt, duration_s=3.0, optimize=False)
    assert {(t.part, t.action) for t in plan.tracks} == wanted
    assert not [note for note in plan.notes if "tail" in note or "ear" in note]


def render(tmp_path: Path, image: np.ndarray, prompt: str) -> tuple[list[np.ndarray], dict[str, object]]:
    import av

    # Without the optimizer: no breath nor blink beside what the prompt asks for.
    request = RenderRequest(
        image=png_bytes(image), prompt=prompt, duration_s=2.0, fps=12, seed=3, prompt_optimizer=False
    )
    result = Live2DEngine().render(request, tmp_path / "clip.mp4", on_progress=lambda _: None)
    with av.open(str(tmp_path / "clip.mp4")) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames, result.extra


def change(frames: list[np.ndarray], mask: np.ndarray) -> float:
    """The largest mean absolute difference from frame 0 inside `mask` (the picture's size; the clip may be
    larger) over the clip (grey levels)."""
    height, width = frames[0].shape[:2]
    mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    first = frames[0].astype(np.int16)
    return max(float(np.abs(f.astype(np.int16) - first)[mask].mean()) for f in frames[1:])


def test_a_swished_tail_moves_and_the_body_stays(tmp_path: Path, cat: tuple[scenes.Scene, Parts]) -> None:
    scene, _ = cat
    frames, extra = render(tmp_path, scene.image, "the cat swishes its tail, the camera stays still")
    tail, body = scene.masks["tail"], scene.masks["body"]
    assert change(frames, tail) > 15.0
    assert change(frames, tail) > 4.0 * change(frames, body & ~tail)
    assert not [note for note in extra["render_notes"] if "tail" in note]  # neither missed nor held back


def test_twitching_ears_move_and_the_eyes_stay(tmp_path: Path, cat: tuple[scenes.Scene, Parts]) -> None:
    scene, _ = cat
    frames, extra = render(tmp_path, scene.image, "the cat twitches its ears, the camera stays still")
    ears, eyes = scene.masks["ears"], scene.masks["eyes"]
    assert change(frames, ears) > 10.0
    assert change(frames, ears) > 3.0 * change(frames, eyes)
    assert not [note for note in extra["render_notes"] if "ears" in note]


def test_a_tail_the_picture_does_not_show_is_named_with_the_prompts_words(
    tmp_path: Path, dog: tuple[scenes.Scene, Parts]
) -> None:
    # The painted dog's tail is lighter than its body and the segmentation leaves it out.
    scene, _ = dog
    _, extra = render(tmp_path, scene.image, "the dog wags its tail")
    plan = extra["motion_plan"]
    assert isinstance(plan, dict)
    assert "not drawn: tail wag (no tail found in the picture), for 'wags its tail'" in plan["notes"]
    assert Track("tail", "wag").part not in {t["part"] for t in plan["tracks"]}
