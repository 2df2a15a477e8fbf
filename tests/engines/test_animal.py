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


@pytest.mark.parametrize("name", ["cat", "dog"])
def test_an_animals_eye_closes_under_its_fur_not_a_flat_patch(name: str) -> None:
    from stillmotion.engines.live2d.rig.eyelids import DrawnEyelid, Eyelid

    scene = getattr(scenes, name)()
    image = scene.image
    face = find_parts(image).face
    assert face is not None and face.left_eye is not None and face.right_eye is not None
    for eye in (face.left_eye, face.right_eye):
        lid = Eyelid.build(image, eye, offset=(0, 0), drawn=True)
        # Drawn fur has no flat skin colour for a drawing's lid: the fur itself comes down.
        assert lid is not None and not isinstance(lid, DrawnEyelid), (name, type(lid))
        closed = image.copy()
        lid.paint(closed, 1.0)
        x0, y0, x1, y1 = int(eye.x), int(eye.y), int(eye.x + eye.w), int(eye.y + eye.h)
        # Nothing changes beside the eye (a lid is as wide as the eye, with its taper).
        changed = np.any(closed != image, axis=-1)
        columns = np.flatnonzero(changed.any(axis=0))
        assert columns.min() >= x0 - 0.5 * eye.w and columns.max() <= x1 + 0.5 * eye.w, (name, columns.min(), x0)
        # Over the eye's upper half the lid is fur: as textured as the fur above the eye, not one flat colour.
        inner = closed[y0 + int(0.15 * eye.h) : y0 + int(0.5 * eye.h), x0 + int(0.25 * eye.w) : x1 - int(0.25 * eye.w)]
        fur = image[y0 - int(0.8 * eye.h) : y0 - int(0.3 * eye.h), x0:x1]
        assert inner.std(axis=(0, 1)).mean() >= 0.3 * fur.std(axis=(0, 1)).mean(), name
        if name == "cat":  # the green iris is gone
            rgb = closed[y0:y1, x0:x1].astype(int)
            green = (rgb[..., 1] > rgb[..., 0] + 30) & (rgb[..., 1] > rgb[..., 2] + 30)
            assert green.mean() <= 0.05, green.mean()


@pytest.mark.parametrize("name", ["cat", "dog"])
def test_an_animals_fur_body_is_its_body_not_hanging_hair(name: str) -> None:
    # A drawing's hair is what is not skin-coloured around the face, and long locks of its colour beside the
    # body. Fur is all of one colour and none of the face's: the body below the head must stay the body (a
    # head turn took it along as hair, with a seam at the neck).
    scene = getattr(scenes, name)()
    parts = find_parts(scene.image)
    body = scene.masks["body"] & ~scene.masks["face"]
    assert float(parts.hair[body].mean()) <= 0.1, (name, float(parts.hair[body].mean()))
    assert float(parts.body[body].mean()) >= 0.6, (name, float(parts.body[body].mean()))
