"""The rig's layer stack: over-mattes that cover the subject, a plate that holds the background alone, and
textures that composite back to the picture at rest."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Parts, find_parts
from stillmotion.engines.live2d.regions import FaceGeometry
from stillmotion.engines.live2d.rig.layers import LayerStack, build_stack, covering, mattes_for, sharpen
from support_drawings import DrawnTruth, brick_wall, draw_character

RGBFrame = npt.NDArray[np.uint8]
FLAT: tuple[int, int, int] = (200, 225, 240)


@functools.cache
def _drawn(background: str) -> tuple[RGBFrame, DrawnTruth, Parts, dict[str, npt.NDArray[np.float32]]]:
    wall = brick_wall(720, 960, 2) if background == "bricks" else FLAT
    image, truth = draw_character(720, 960, seed=2, hair_color=(60, 45, 40), background=wall)
    parts = find_parts(image)
    assert parts.face is not None
    return image, truth, parts, mattes_for(parts, FaceGeometry.from_face(parts.face, image), image)


def _at_rest(stack: LayerStack) -> RGBFrame:
    out = stack.plate.copy()
    for layer in stack.layers:
        x0, y0, x1, y1 = layer.box
        below = out[y0:y1, x0:x1]
        below[:] = cv2.blendLinear(layer.texture, below, layer.alpha, 1.0 - layer.alpha)
    return out


def test_covering_lets_the_back_layer_reach_under_a_soft_hand_over() -> None:
    # Two zones sharing a pixel half and half: "over" compositing covers 0.75 of it, the subject all of it.
    ramp = np.linspace(0.0, 1.0, 11, dtype=np.float32)[None, :].repeat(3, axis=0)
    subject = np.ones_like(ramp)
    covered = covering({"back": 1.0 - ramp, "front": ramp}, subject)
    assert np.array_equal(covered["front"], ramp)  # the front layer is as it was
    clear = (1.0 - covered["back"]) * (1.0 - covered["front"])
    assert float(np.abs(clear).max()) < 1e-6
    assert np.all(covered["back"] >= 1.0 - ramp)


def test_the_face_stack_covers_the_subject_everywhere() -> None:
    _, _, parts, mattes = _drawn("bricks")
    clear = np.ones((parts.height, parts.width), np.float32)
    for matte in mattes.values():
        clear *= 1.0 - matte
    gap = sharpen(parts.subject) - (1.0 - clear)
    assert float(gap.max()) < 1e-3


def test_at_rest_the_stack_composites_back_to_the_picture() -> None:
    image, _, _, mattes = _drawn("bricks")
    stack = build_stack(image, mattes, seed=3)
    difference = np.abs(_at_rest(stack).astype(np.int16) - image.astype(np.int16))
    assert int(difference.max()) <= 1  # rounding of the unmixed edge colours


def test_the_plate_holds_the_background_not_the_subjects_edge() -> None:
    # Over a flat wall the plate must be the wall's colour wherever the subject shares a pixel with it (the
    # drawing's dark outline is anti-aliased into the wall): an outline left on the plate stays behind when
    # the hair moves.
    image, truth, parts, mattes = _drawn("flat")
    stack = build_stack(image, mattes, seed=3)
    clear = np.ones((parts.height, parts.width), np.float32)
    for matte in mattes.values():
        clear *= 1.0 - matte
    wall = np.array(FLAT, np.int16)
    # The outline's soft edge: outside the drawing's own mask, darkened by it, and covered by the stack.
    darkened = np.abs(image.astype(np.int16) - wall).max(axis=2) > 12
    edge = (clear < 0.7) & ~truth.subject_mask & darkened
    assert edge.sum() > 100
    off = np.abs(stack.plate[edge].astype(np.int16) - wall).max(axis=1)
    assert float(np.mean(off <= 12)) > 0.95
