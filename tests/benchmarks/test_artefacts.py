"""The artefact measures (`benchmarks/artefacts.py`) on tiny synthetic clips (numpy frames, no engine):
each passes on a good clip and fails on a bad one, so that none can only pass."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import artefacts as art
import contact_sheet
from illustrations import Ellipse, PartTruth, character_pair, subject_from_pair

RGBFrame = npt.NDArray[np.uint8]
BoolMask = npt.NDArray[np.bool_]
H, W = 260, 220  # eyes, tips and bangs need ~30 px for Farneback to see their own motion
SKIN = (252, 224, 200)
IRIS = (60, 110, 200)
PUPIL = (25, 20, 30)
WHITE = (255, 255, 255)
LASH = (35, 25, 30)


def texture(height: int, width: int, *, seed: int, base: tuple[int, int, int] = (128, 128, 128)) -> RGBFrame:
    """Blurred noise at two scales around `base`: detail in every direction, like a photo."""
    rng = np.random.default_rng(seed)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.2)
    coarse = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 4.0)
    pattern = 60 * fine / fine.std() + 40 * coarse / coarse.std()
    return np.asarray(np.clip(np.array(base, np.float32) + pattern[..., None], 0, 255), dtype=np.uint8)


def shifted(image: npt.NDArray[np.generic], dx: int, dy: int) -> npt.NDArray[np.generic]:
    return np.roll(np.roll(image, dy, axis=0), dx, axis=1)


# --- a scene of layers: background, hair locks, face, bangs, eyes --------------------------------------


def ellipse_mask(cx: float, cy: float, ax: float, ay: float) -> BoolMask:
    return Ellipse(cx, cy, ax, ay).mask(H, W)


EYES = (Ellipse(86, 135, 14, 18), Ellipse(134, 135, 14, 18))
FACE = ellipse_mask(110, 130, 60, 70)
EYE_MASK = EYES[0].mask(H, W) | EYES[1].mask(H, W)
BANGS = np.zeros((H, W), bool)
BANGS[60:108, 50:171] = True
BANGS &= FACE
LOCKS = np.zeros((H, W), bool)
LOCKS[80:245, 8:46] = True
LOCKS[80:245, 174:212] = True
TIPS = LOCKS.copy()
TIPS[:200] = False
MOUTH = ellipse_mask(110, 175, 14, 5)
SUBJECT = FACE | LOCKS | BANGS


def parts() -> PartTruth:
    return PartTruth(
        eyes=EYES,
        iris=IRIS,
        pupil=PUPIL,
        eye_white=WHITE,
        skin=SKIN,
        face_width=120.0,
        subject=SUBJECT,
        hair=LOCKS | BANGS,
        bangs=BANGS,
        hair_tips=TIPS,
        face=FACE & ~BANGS & ~EYE_MASK & ~MOUTH,
        mouth=MOUTH,
    )


LAYERS = {
    "background": (np.ones((H, W), bool), texture(H, W, seed=1, base=(150, 90, 70))),
    "locks": (LOCKS, texture(H, W, seed=2, base=(70, 50, 40))),
    "face": (FACE, texture(H, W, seed=3, base=(200, 170, 150))),
    "tips": (TIPS, texture(H, W, seed=2, base=(70, 50, 40))),
    "bangs": (BANGS, texture(H, W, seed=4, base=(80, 60, 50))),
    "eyes": (EYE_MASK, texture(H, W, seed=5, base=(90, 120, 170))),
}


def scene(**moves: tuple[int, int]) -> RGBFrame:
    """The layers painted in order, each (texture and outline together) moved by `moves[name]`."""
    frame = np.zeros((H, W, 3), np.uint8)
    for name, (mask, pixels) in LAYERS.items():
        dx, dy = moves.get(name, (0, 0))
        where = shifted(mask, dx, dy)
        frame[where] = shifted(pixels, dx, dy)[where]
    return frame


def clip(steps: list[dict[str, tuple[int, int]]]) -> tuple[list[RGBFrame], art.FlowStack]:
    frames = [scene()] + [scene(**step) for step in steps]
    return frames, art.flows_from_first(frames)


# --- a. background motion ----------------------------------------------------------------------------------


def test_background_motion_passes_when_only_the_subject_moves() -> None:
    hair = {"locks": (4, 0), "tips": (6, 1), "face": (2, 0), "bangs": (3, 0), "eyes": (2, 0)}
    _, flows = clip([hair, {k: (v[0] // 2, v[1]) for k, v in hair.items()}, hair])
    measure = art.background_motion(flows, SUBJECT)
    assert measure.passed, measure


def test_background_motion_fails_when_the_background_shifts() -> None:
    _, flows = clip([{"background": (1, 0)}, {"background": (2, 0)}, {"background": (1, 0)}])
    measure = art.background_motion(flows, SUBJECT)
    assert not measure.passed, measure
    assert measure.value > 0.8


# --- b. blink peak -----------------------------------------------------------------------------------------

EYE = Ellipse(80, 60, 20, 27)


def eye_frame(state: str) -> RGBFrame:
    """A skin patch (with a little grain) and one eye: open, closed, or closed badly."""
    rng = np.random.default_rng(9)
    frame = np.clip(np.array(SKIN, np.float32) + rng.normal(0, 2, (120, 160, 1)), 0, 255).astype(np.uint8)
    cx, cy = 80, 60
    open_eye = state in ("open", "iris-left", "white-left")
    if open_eye:
        cv2.ellipse(frame, (cx, cy), (20, 27), 0, 0, 360, WHITE, -1, cv2.LINE_AA)
        cv2.ellipse(frame, (cx, cy + 1), (16, 23), 0, 0, 360, IRIS, -1, cv2.LINE_AA)
        cv2.ellipse(frame, (cx, cy + 2), (9, 13), 0, 0, 360, PUPIL, -1, cv2.LINE_AA)
        cv2.circle(frame, (cx - 5, cy - 6), 4, WHITE, -1, cv2.LINE_AA)
    if state == "iris-left":  # the lid stops half way: iris and pupil show below it
        cv2.ellipse(frame, (cx, cy), (21, 28), 0, 180, 360, SKIN, -1)
        cv2.line(frame, (cx - 21, cy), (cx + 21, cy), LASH, 3, cv2.LINE_AA)
    if state == "white-left":  # closed over the iris, but a crescent of eye white is left under the lid
        cv2.ellipse(frame, (cx, cy), (21, 28), 0, 0, 360, SKIN, -1)
        cv2.ellipse(frame, (cx, cy + 14), (17, 13), 0, 20, 160, WHITE, 6)
        cv2.ellipse(frame, (cx, cy + 6), (22, 8), 0, 10, 170, LASH, 4, cv2.LINE_AA)
    if state == "closed":
        cv2.ellipse(frame, (cx, cy + 6), (22, 8), 0, 10, 170, LASH, 4, cv2.LINE_AA)
    if open_eye or state == "closed":
        cv2.ellipse(frame, (cx, cy - 1), (24, 30), 0, 200, 340, LASH, 3, cv2.LINE_AA)  # upper lash line
    return frame


def blink(state: str) -> dict[str, art.Measure]:
    frames = [eye_frame("open"), eye_frame(state), eye_frame("open")]
    flows = art.flows_from_first(frames)
    found = art.blink_peak(frames, flows, EYE, iris=IRIS, pupil=PUPIL, white=WHITE, skin=SKIN)
    return {m.name.split(": ")[1]: m for m in found}


def test_blink_peak_passes_a_closed_eye_with_a_lash_line() -> None:
    measures = blink("closed")
    assert all(m.passed for m in measures.values()), measures
    assert "peak frame 1" in measures["lash line"].detail


def test_blink_peak_fails_when_the_iris_is_left() -> None:
    measures = blink("iris-left")
    assert not measures["iris/pupil left"].passed, measures


def test_blink_peak_fails_when_eye_white_is_left() -> None:
    measures = blink("white-left")
    assert not measures["eye white left"].passed, measures
    assert measures["iris/pupil left"].passed, measures


def test_blink_peak_fails_without_a_lash_line() -> None:
    measures = blink("skin-only")
    assert measures["lid skin"].passed, measures
    assert not measures["lash line"].passed, measures


def test_an_open_eye_reads_as_open() -> None:
    reading = art.read_eye(eye_frame("open"), EYE, iris=IRIS, pupil=PUPIL, white=WHITE, skin=SKIN)
    assert reading.iris > 0.5 and reading.white > 0.05 and reading.lid < 0.1


# --- c. wind only, d. head turn -------------------------------------------------------------------------------


def by_name(measures: list[art.Measure]) -> dict[str, art.Measure]:
    return {m.name: m for m in measures}


def test_wind_only_passes_when_tips_move_and_the_face_stays() -> None:
    frames, flows = clip([{"tips": (2, 0)}, {"tips": (4, 1)}, {"tips": (2, 0)}])
    measures = by_name(art.wind_only(frames, flows, parts()))
    assert measures["wind: hair tips move"].passed, measures
    assert measures["wind: face stays"].passed, measures


def test_wind_only_fails_when_the_face_moves_or_the_tips_do_not() -> None:
    moved = {"tips": (4, 0), "face": (2, 0), "eyes": (2, 0), "bangs": (2, 0)}
    frames, flows = clip([moved, moved])
    measures = by_name(art.wind_only(frames, flows, parts()))
    assert not measures["wind: face stays"].passed, measures
    assert measures["wind: face stays"].value == pytest.approx(2.0, abs=0.3)
    frames, flows = clip([{"tips": (1, 0)}, {"tips": (1, 0)}])
    assert not by_name(art.wind_only(frames, flows, parts()))["wind: hair tips move"].passed


def test_head_turn_passes_when_the_bangs_follow_the_eyes() -> None:
    # A turn: the eyes move most, the face and the bangs less.
    half = {"eyes": (4, 0), "face": (3, 0), "bangs": (2, 0)}
    _, flows = clip([half, {"eyes": (8, 0), "face": (6, 0), "bangs": (5, 0)}])
    measures = by_name(art.head_turn(flows, parts()))
    assert measures["turn: eyes shift / face width"].passed, measures
    assert measures["turn: bangs follow the eyes"].passed, measures
    assert measures["turn: bangs follow the eyes"].value == pytest.approx(5 / 8, abs=0.2)


def test_head_turn_fails_when_the_bangs_stay_or_the_eyes_barely_move() -> None:
    _, flows = clip([{"eyes": (8, 0), "face": (6, 0)}, {"eyes": (8, 0), "face": (6, 0)}])
    assert not by_name(art.head_turn(flows, parts()))["turn: bangs follow the eyes"].passed
    _, flows = clip([{"eyes": (-8, 0), "face": (-6, 0), "bangs": (4, 0)}])
    assert not by_name(art.head_turn(flows, parts()))["turn: bangs follow the eyes"].passed  # the other way
    _, flows = clip([{"eyes": (3, 0), "bangs": (3, 0)}])  # 2.5 % of the face width
    assert not by_name(art.head_turn(flows, parts()))["turn: eyes shift / face width"].passed


# --- e. sharpness ---------------------------------------------------------------------------------------


def test_sharpness_passes_a_moved_region_and_fails_a_blurred_one() -> None:
    moved = {"face": (3, 1), "eyes": (3, 1), "bangs": (3, 1)}
    frames, flows = clip([moved, moved])
    region = FACE & ~BANGS
    good = art.sharpness(frames, flows, region, label="face")
    assert good.passed and good.value == pytest.approx(1.0, abs=0.1), good
    frames[2] = np.asarray(cv2.GaussianBlur(frames[2], (0, 0), 1.0), dtype=np.uint8)
    flows = art.flows_from_first(frames)
    bad = art.sharpness(frames, flows, region, label="face")
    assert not bad.passed, bad
    assert "frame 2" in bad.detail


# --- f. camera zoom-out -----------------------------------------------------------------------------------

BIG = texture(H + 60, W + 60, seed=11)


def zoom_frames(last: str) -> list[RGBFrame]:
    first = BIG[30 : 30 + H, 30 : 30 + W].copy()
    if last == "revealed":  # zoomed out onto real content
        out = cv2.resize(BIG[12 : 48 + H, 10 : 50 + W], (W, H), interpolation=cv2.INTER_AREA)
    else:
        small = cv2.resize(first, (W - 16, H - 20), interpolation=cv2.INTER_AREA)
        out = cv2.copyMakeBorder(small, 10, 10, 8, 8, cv2.BORDER_REFLECT)
        if last == "blurred-mirror":
            blurred = cv2.GaussianBlur(out, (0, 0), 4.0)
            band = np.ones((H, W), bool)
            band[10:-10, 8:-8] = False
            out[band] = blurred[band]
        elif last == "blurred-copy":  # blurred, but what lies there is not a mirror
            out = first.copy()
            blurred = cv2.GaussianBlur(out, (0, 0), 3.0)
            band = np.ones((H, W), bool)
            band[12:-12, 10:-10] = False
            out[band] = blurred[band]
    return [first, np.asarray(out, dtype=np.uint8)]


def test_zoom_out_passes_when_the_borders_show_real_content() -> None:
    measures = by_name(art.zoom_out_borders(zoom_frames("revealed")))
    assert measures["zoom-out: border sharpness"].passed, measures
    assert measures["zoom-out: border mirror NCC"].passed, measures


def test_zoom_out_fails_a_mirrored_border() -> None:
    measures = by_name(art.zoom_out_borders(zoom_frames("mirror")))
    assert not measures["zoom-out: border mirror NCC"].passed, measures
    assert measures["zoom-out: border mirror NCC"].value > 0.9


def test_zoom_out_fails_a_blurred_border_mirrored_or_not() -> None:
    mirrored = by_name(art.zoom_out_borders(zoom_frames("blurred-mirror")))
    assert not mirrored["zoom-out: border sharpness"].passed, mirrored
    copied = by_name(art.zoom_out_borders(zoom_frames("blurred-copy")))
    assert not copied["zoom-out: border sharpness"].passed, copied
    assert copied["zoom-out: border mirror NCC"].passed, copied


# --- pictures, measures, contact sheets ------------------------------------------------------------------------


def test_subject_from_pair_is_where_the_pictures_agree() -> None:
    flat = np.full((H, W, 3), (200, 220, 210), np.uint8)
    wall = texture(H, W, seed=12)
    wall[5, 5] = flat[5, 5]  # a wall pixel that happens to match the flat colour
    disk = ellipse_mask(110, 130, 50, 60)
    subject_colours = texture(H, W, seed=13)
    textured, plain = wall.copy(), flat.copy()
    textured[disk] = subject_colours[disk]
    plain[disk] = subject_colours[disk]
    found = subject_from_pair(textured, plain)
    assert np.array_equal(found, disk)


def test_the_held_out_pair_has_its_parts() -> None:
    pair = character_pair("brick-heldout")
    truth = pair.parts
    assert pair.textured.shape == (720, 900, 3)
    labelled = pair.truth.labels != 0
    assert np.mean(truth.subject == labelled) > 0.99  # only anti-aliased outline pixels differ
    for mask in (truth.bangs, truth.hair_tips, truth.face):
        assert mask.sum() > 1000 and not (mask & ~truth.subject).any()
    assert not (truth.face & truth.hair).any()
    assert all(truth.subject[round(e.cy), round(e.cx)] for e in truth.eyes)


def test_a_measure_without_a_value_fails() -> None:
    assert not art.Measure("x", float("nan"), "<=", 1.0, "px", "").passed
    assert art.Measure("x", 0.5, "<=", 0.5, "px", "").passed
    assert not art.Measure("x", 0.6, "<", 0.6, "", "").passed


def test_contact_sheet_lays_out_labelled_frames_and_diffs() -> None:
    assert contact_sheet.spaced_indices(45, 12)[0] == 0
    assert contact_sheet.spaced_indices(45, 12)[-1] == 44
    assert contact_sheet.spaced_indices(3, 12) == [0, 1, 2]
    frames = {i: scene(face=(i, 0)) for i in range(5)}
    sheet = contact_sheet.contact_sheet(frames, [0, 2, 4], cols=2, tile_width=80, diff=True)
    # 2 rows of frames, each with a row of diffs: 4 rows of (label + picture) tiles.
    tile_h = 22 + round(H * 80 / W)
    assert sheet.shape[1] == 2 * 80 + 3 * 4
    assert sheet.shape[0] == 4 * tile_h + 5 * 4
    cropped = contact_sheet.contact_sheet(frames, [0, 4], cols=2, tile_width=80, crop=(40, 40, 40, 40))
    assert cropped.shape[0] == 22 + 80 + 2 * 4
