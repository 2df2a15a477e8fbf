"""The subject's edge re-read at full size (`parts.matting.refine_edge`)."""

from __future__ import annotations

import cv2
import numpy as np

from stillmotion.engines.live2d.parts.matting import refine_edge


def _disc_on_bricks(colour: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A 240x240 picture: a disc of `colour` with a hard edge over a noisy brick-red wall, and the disc's mask."""
    rng = np.random.default_rng(3)
    wall = np.clip(rng.normal((170, 80, 60), 12, (240, 240, 3)), 0, 255).astype(np.uint8)
    disc = np.zeros((240, 240), np.uint8)
    cv2.circle(disc, (120, 120), 70, 1, -1)
    image = wall.copy()
    image[disc > 0] = colour
    return image, disc.astype(bool)


def _prior(disc: np.ndarray) -> np.ndarray:
    """What a segmentation at a third of the size gives back: a ramp a dozen px wide, 2 px outside the edge."""
    grown = cv2.dilate(disc.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    return np.asarray(cv2.GaussianBlur(grown.astype(np.float32), (0, 0), 3.6), dtype=np.float32)


def _distances(disc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = cv2.distanceTransform(disc.astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((~disc).astype(np.uint8), cv2.DIST_L2, 5)
    return inside, outside


def test_a_hard_edge_comes_out_hard_where_the_colours_differ() -> None:
    image, disc = _disc_on_bricks((50, 40, 35))
    prior = _prior(disc)
    inside, outside = _distances(disc)
    # The prior is soft across the edge: wall 2-6 px out is partly subject, the disc 2-6 px in partly not.
    assert prior[(outside >= 2) & (outside <= 6)].max() > 0.3
    assert prior[(inside >= 2) & (inside <= 6)].min() < 0.85
    refined = refine_edge(image, prior, scale=3.0)
    # Partial cover stays within 2 px of the edge (the wall's noise may read as a little cover there).
    assert refined[outside > 2.5].max() < 0.05
    assert refined[inside > 2.5].min() > 0.95
    assert refined[(outside >= 1) & (outside <= 2.5)].mean() < 0.05
    # Far from the edge, nothing changes.
    assert np.array_equal(refined[outside > 20], prior[outside > 20])


def test_the_ramp_is_kept_where_subject_and_wall_look_alike() -> None:
    image, disc = _disc_on_bricks((172, 82, 62))  # the wall's own colour: the colours say nothing
    prior = _prior(disc)
    refined = refine_edge(image, prior, scale=3.0)
    # Across the edge it stays as soft as it was (far out, where no sure subject is near, it is wall).
    across = (prior > 0.2) & (prior < 0.8)
    assert np.abs(refined - prior)[across].max() < 0.05
