"""Parts detection: faces, eyes, mouth and soft masks on photos, a still life, drawings and degenerate input."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from stillmotion.engines.live2d import parts
from stillmotion.engines.live2d.parts import Box, Parts, find_parts
from stillmotion.engines.live2d.parts import animeface as animeface_shim
from support_drawings import RGB, Background, DrawnTruth, brick_wall, draw_character

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RGBFrame = npt.NDArray[np.uint8]


@functools.cache
def _photo(name: str) -> RGBFrame:
    with Image.open(FIXTURES / name) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


@functools.cache
def _parts_of_photo(name: str) -> Parts:
    return find_parts(_photo(name))


@functools.cache
def _character() -> tuple[RGBFrame, DrawnTruth]:
    # The engine's output size for a 2:3 portrait, with a gradient background.
    return draw_character(720, 1072, seed=0)


def _assert_masks_are_sound(found: Parts, height: int, width: int) -> None:
    assert (found.height, found.width) == (height, width)
    for name in ("subject", "hair", "body", "background"):
        mask = getattr(found, name)
        assert mask.shape == (height, width), name
        assert mask.dtype == np.float32, name
        assert float(mask.min()) >= 0.0, name
        assert float(mask.max()) <= 1.0, name
    np.testing.assert_allclose(found.background, 1.0 - found.subject, atol=1e-6)
    assert np.all(found.hair <= found.subject + 1e-6)
    assert np.all(found.body <= found.subject + 1e-6)


def _grown(box: Box, by: float) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of `box` grown by `by` face widths on every side."""
    return box.x - by * box.w, box.y - by * box.w, box.x + box.w + by * box.w, box.y + box.h + by * box.w


def _share_inside(mask: npt.NDArray[np.float32], rect: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = (max(0, round(v)) for v in rect)
    total = float(mask.sum())
    return float(mask[y0:y1, x0:x1].sum()) / total if total > 0 else 0.0


def _iou(found: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> float:
    return float((found & truth).sum()) / float((found | truth).sum())


# Photos ----------------------------------------------------------------------------------------------------


# Where each portrait's face is, as shares of (width, height): a loose check against a face found elsewhere.
PORTRAITS = {"astronaut.png": (0.44, 0.22), "grace_hopper.jpg": (0.52, 0.36)}


@pytest.mark.parametrize("name", sorted(PORTRAITS))
def test_portrait_face_has_eyes_in_its_upper_half_and_the_mouth_below(name: str) -> None:
    found = _parts_of_photo(name)
    height, width = _photo(name).shape[:2]
    face = found.face
    assert face is not None, found.method
    assert face.kind == "photo"
    assert found.method.startswith("haar")
    expected_x, expected_y = PORTRAITS[name]
    assert abs(face.box.cx / width - expected_x) < 0.08
    assert abs(face.box.cy / height - expected_y) < 0.08

    assert face.left_eye is not None and face.right_eye is not None and face.mouth is not None
    assert face.left_eye.cx < face.right_eye.cx  # the viewer's left first
    for eye in (face.left_eye, face.right_eye):
        assert face.box.x <= eye.cx <= face.box.x + face.box.w
        assert face.box.y <= eye.cy <= face.box.cy
    assert face.left_eye.cx < face.box.cx < face.right_eye.cx
    assert face.mouth.cy > max(face.left_eye.cy, face.right_eye.cy)
    assert face.left_eye.cx < face.mouth.cx < face.right_eye.cx
    assert face.neck is not None and face.neck[1] > face.mouth.cy


@pytest.mark.parametrize("name", sorted(PORTRAITS))
def test_portrait_masks_put_hair_around_the_face_and_the_body_below_it(name: str) -> None:
    found = _parts_of_photo(name)
    face = found.face
    assert face is not None
    _assert_masks_are_sound(found, *_photo(name).shape[:2])
    assert found.subject[round(face.box.cy), round(face.box.cx)] > 0.9
    assert found.hair.sum() > 0.02 * face.box.w * face.box.h
    assert _share_inside(found.hair, _grown(face.box, 0.7)) > 0.9
    # Body is what lies below the chin: none of it above the eyes.
    assert _share_inside(found.body, (0, face.box.y + face.box.h, found.width, found.height)) > 0.95
    assert found.body.sum() > 0.1 * found.width * found.height


def test_still_life_gets_the_fallback_with_a_central_subject() -> None:
    found = _parts_of_photo("coffee.png")
    height, width = _photo("coffee.png").shape[:2]
    _assert_masks_are_sound(found, height, width)
    assert found.face is None
    assert found.method.startswith("fallback")
    assert 0.1 < float(found.subject.mean()) < 0.8
    assert found.subject[height // 2, width // 2] > 0.5  # the cup
    assert max(found.subject[0, 0], found.subject[0, -1], found.subject[-1, 0], found.subject[-1, -1]) < 0.5
    assert not found.hair.any()
    rows = np.arange(height, dtype=np.float64)
    subject_centre = float((found.subject.sum(axis=1) * rows).sum() / found.subject.sum())
    body_centre = float((found.body.sum(axis=1) * rows).sum() / found.body.sum())
    assert body_centre > subject_centre  # the body is the subject's lower part


# Drawings --------------------------------------------------------------------------------------------------


def _assert_finds_the_character(found: Parts, truth: DrawnTruth) -> None:
    face = found.face
    assert face is not None, found.method
    assert face.kind == "drawn"
    assert face.left_eye is not None and face.right_eye is not None and face.mouth is not None
    x, y, w, h = truth.face_box
    tolerance = 0.1 * w
    assert abs(face.box.cx - (x + w / 2)) < tolerance and abs(face.box.cy - (y + h / 2)) < 0.15 * h
    assert 0.75 < face.box.w / w < 1.25
    for eye, true_eye in ((face.left_eye, truth.left_eye), (face.right_eye, truth.right_eye)):
        assert np.hypot(eye.cx - true_eye[0], eye.cy - true_eye[1]) < tolerance
    assert np.hypot(face.mouth.cx - truth.mouth[0], face.mouth.cy - truth.mouth[1]) < tolerance

    _assert_masks_are_sound(found, *truth.labels.shape)
    assert _iou(found.subject > 0.5, truth.subject_mask) > 0.85
    assert _iou(found.hair > 0.5, truth.hair_mask) > 0.7
    assert _share_inside(found.hair, _grown(face.box, 0.7)) > 0.9
    assert _iou(found.body > 0.5, truth.body_mask) > 0.7


def test_drawn_character_face_eyes_mouth_and_hair_are_found() -> None:
    image, truth = _character()
    _assert_finds_the_character(find_parts(image), truth)


@pytest.mark.parametrize(
    ("seed", "size", "hair_color", "background"),
    [
        (1, (720, 1072), None, "plain"),
        (2, (1072, 720), (40, 40, 55), "gradient"),  # dark hair: its fringe must not pass for pupils
        (3, (512, 512), (240, 210, 110), (200, 230, 200)),  # blonde hair, close to skin in hue
        (5, (720, 960), (230, 120, 150), "gradient"),  # pink hair, inside the skin-hue range
    ],
)
def test_drawn_character_variants_are_found_without_animeface(
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    size: tuple[int, int],
    hair_color: RGB | None,
    background: Background,
) -> None:
    # Where the animeface wheel is missing (not Linux x86_64) the flat-colour heuristic must do alone.
    monkeypatch.setattr(animeface_shim, "_animeface_detect", lambda: None)
    image, truth = draw_character(*size, seed=seed, hair_color=hair_color, background=background)
    _assert_finds_the_character(find_parts(image), truth)


@pytest.mark.parametrize(
    ("seed", "size", "hair_color"), [(2, (720, 960), (60, 45, 40)), (11, (900, 720), (230, 120, 150))]
)
def test_drawn_character_on_a_brick_wall_is_a_drawing_cut_close_to_its_outline(
    seed: int, size: tuple[int, int], hair_color: RGB
) -> None:
    # A textured wall makes the whole picture less flat than a drawing usually is, and the photo cascade
    # does find drawn faces: the face's own flatness must still make it a drawing. The segmentation's
    # flood must not take the bricks touching the hair and shoulders.
    image, truth = draw_character(*size, seed=seed, hair_color=hair_color, background=brick_wall(*size, seed))
    found = find_parts(image)
    _assert_finds_the_character(found, truth)
    outside = (found.subject > 0.5) & ~truth.subject_mask
    assert outside.any()  # the soft edge always spills a little
    to_subject = np.asarray(cv2.distanceTransform((~truth.subject_mask).astype(np.uint8), cv2.DIST_L2, 5))
    # Bricks the flood took reach 30-70 px out (p90 ~36 px); the soft edge and the small pockets of wall
    # between hair and neck (closed with the subject) stay within ~10 px.
    assert float(np.percentile(to_subject[outside], 90)) < 12.0
    assert outside.mean() < 0.015


def test_a_drawn_face_the_photo_cascade_finds_is_still_a_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a busy background the picture as a whole does not look flat (this one: 0.51 of ~0 Laplacian, under
    # 0.55), so the photo cascade runs first; when it finds the drawn face, the face's own flat fills must send
    # it to the drawing's detectors.
    image, truth = draw_character(720, 960, seed=2, background=brick_wall(720, 960, 2))
    drawn = parts._detect_drawn_face
    calls: list[str] = []

    def photo_cascade(image: RGBFrame, small: RGBFrame, grey: RGBFrame) -> object:
        calls.append("photo")
        found = drawn(small)
        assert found is not None
        return dataclasses.replace(found, face=dataclasses.replace(found.face, kind="photo"), method="haar")

    monkeypatch.setattr(parts, "_detect_photo_face", photo_cascade)
    found = find_parts(image)
    assert calls == ["photo"]
    _assert_finds_the_character(found, truth)
    assert not found.method.startswith("haar")


def test_animeface_finds_the_drawn_character_when_the_heuristic_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    if animeface_shim._animeface_detect() is None:
        pytest.skip("animeface is not installed here (it ships Linux x86_64 wheels only)")
    monkeypatch.setattr(parts, "_detect_drawn_face", lambda small: None)
    image, truth = _character()
    found = find_parts(image)
    assert found.method.startswith("animeface")
    _assert_finds_the_character(found, truth)


def test_drawing_truth_is_consistent() -> None:
    image, truth = _character()
    height, width = image.shape[:2]
    assert truth.labels.shape == (height, width)
    x, y, w, h = truth.face_box
    assert x >= 0 and y >= 0
    assert x + w <= width and y + h <= height
    for eye_x, eye_y in (truth.left_eye, truth.right_eye):
        assert x < eye_x < x + w and y < eye_y < y + h
        assert truth.labels[round(eye_y), round(eye_x)] == 4  # an eye pixel
    assert truth.left_eye[0] < truth.right_eye[0]
    assert truth.hair_mask.any() and truth.body_mask.any()
    # Hair is drawn behind and above the face, never below the torso's top.
    hair_rows = np.flatnonzero(truth.hair_mask.any(axis=1))
    assert hair_rows[0] < y


# Degenerate input ------------------------------------------------------------------------------------------


def _noise(height: int, width: int) -> RGBFrame:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((1, 1, 3), np.uint8), id="1x1"),
        pytest.param(_noise(10, 14), id="tiny-noise"),
        pytest.param(_noise(64, 64), id="64px-noise"),
        pytest.param(np.full((64, 64, 3), 200, np.uint8), id="64px-flat"),
        pytest.param(np.full((480, 320, 3), (252, 224, 200), np.uint8), id="flat-skin-colour"),
        pytest.param(np.zeros((300, 300, 3), np.uint8), id="black"),
        pytest.param(_noise(720, 480), id="noise"),
        pytest.param(_noise(720, 2880), id="wide-4-to-1"),
        pytest.param(_noise(64, 4000), id="very-wide-strip"),
        pytest.param(_noise(3000, 64), id="very-tall-strip"),
        pytest.param(_noise(600, 800)[:, ::2], id="non-contiguous"),
    ],
)
def test_degenerate_images_never_raise_and_fall_back(image: RGBFrame) -> None:
    found = find_parts(image)
    _assert_masks_are_sound(found, *image.shape[:2])
    assert found.face is None
    assert found.method.startswith("fallback")
    assert not found.hair.any()


def test_a_failing_detector_degrades_to_the_centre_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(image: RGBFrame, small: RGBFrame) -> None:
        raise RuntimeError("detector exploded")

    monkeypatch.setattr(parts, "_detect_face", broken)
    image, _ = draw_character(200, 300, seed=0)
    found = find_parts(image)
    assert found.face is None and found.method == "fallback"
    _assert_masks_are_sound(found, 300, 200)
    assert found.subject[150, 100] > 0.9 and found.subject[0, 0] < 0.1


@pytest.mark.parametrize(
    "image",
    [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)],
    ids=["grey", "rgba", "float"],
)
def test_non_rgb_arrays_are_refused(image: npt.NDArray[np.generic]) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        find_parts(image)  # type: ignore[arg-type]


def test_the_eye_the_cascade_missed_is_found_where_the_mirror_image_of_the_other_matches() -> None:
    # A head turned a little: the eyes are not mirror images about the face box's centre line, and a lid drawn at
    # the mirrored place covered the cheek beside the eye.
    from stillmotion.engines.live2d.parts.photo import _mirror_eye

    image = np.full((200, 240, 3), 200, np.uint8)
    for cx in (80, 150):  # the face box's centre line would be at x = 120; the eyes' midpoint is 115
        cv2.ellipse(image, (cx, 90), (16, 8), 0, 0, 360, (250, 250, 250), -1)
        cv2.circle(image, (cx + 3, 90), 6, (30, 20, 20), -1)
    # Eyes look the same way: the mirror image of the left one is the right one turned about; draw the right
    # one's iris to the left, as a mirror image would have it.
    cv2.circle(image, (153, 90), 6, (250, 250, 250), -1)
    cv2.circle(image, (147, 90), 6, (30, 20, 20), -1)
    seen = Box(60.0, 78.0, 40.0, 24.0)
    estimate = Box(2 * 120.0 - seen.cx - seen.w / 2, seen.y, seen.w, seen.h)  # centred at x = 160
    found = _mirror_eye(image, seen, estimate)
    assert abs(found.cx - 150.0) <= 2.0, found
    # Nothing like an eye there: the estimate stands.
    blank = np.full((200, 240, 3), 200, np.uint8)
    blank[78:102, 60:100] = image[78:102, 60:100]
    assert _mirror_eye(blank, seen, estimate) == estimate
