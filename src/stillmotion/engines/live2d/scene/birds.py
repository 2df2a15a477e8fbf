"""Birds flying across the sky: a loose flock of distant silhouettes, wings beating, gliding now and then.

Each bird is a few strokes seen from afar (wing tip, wrist, body, wrist, wing tip): the wings beat at a few beats
a second, each bird on its own rhythm, with spells of gliding on held wings between bursts of beats. The flock
crosses the sky (the picture's upper part when no sky is found) the way the words say, or a seeded way, each bird
on a slightly wavering line, the higher ones smaller (farther). Birds leave one side and come back in at the
other; in a loop each has crossed a whole number of times, so the last frame leads into the first. Dark against a
light sky, pale grey against a dark one. Drawn in front; fades in from nothing, so frame 0 is the picture.
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np

from stillmotion.engines.live2d.scene.flow import Floats, Patch, RGBFrame, SceneTime
from stillmotion.engines.live2d.scene.regions import Region

BIRD_SPAN: Final = 0.03  # a near bird's wingspan, a share of the picture's short side
CROSSING_S: Final = 9.0  # seconds for a bird to cross the flight area at amplitude 0.7
BEAT_HZ: Final = (2.6, 4.0)  # wing beats a second, per bird
FLOCK: Final = (3, 8)  # birds at amplitude 0 and 1
DARK_SKY: Final = 90.0  # a sky darker than this (mean grey level) gets pale birds


class Birds:
    """A flock crossing the sky (see the module docstring)."""

    front = True

    def __init__(
        self,
        picture: RGBFrame,
        sky: Region | None,
        time: SceneTime,
        rng: np.random.Generator,
        *,
        direction: str | None,
        amplitude: float,
    ) -> None:
        height, width = picture.shape[:2]
        short = min(width, height)
        if sky is not None:
            x0, y0, x1, y1 = sky.box
        else:
            x0, y0, x1, y1 = 0, 0, width, max(1, int(0.45 * height))
        self.box = (x0, y0, x1, y1)
        self.time = time
        box_w, box_h = x1 - x0, y1 - y0
        count = round(FLOCK[0] + (FLOCK[1] - FLOCK[0]) * min(1.0, amplitude))
        sign = {"left": -1.0, "right": 1.0}.get(direction or "", 1.0 if rng.uniform() < 0.5 else -1.0)
        # A bird leaves the area and comes back in at the other side: it travels round a loop this long.
        self.margin = 3.0 * BIRD_SPAN * short
        self.lap = box_w + 2.0 * self.margin
        crossing = time.period(CROSSING_S * 0.7 / max(amplitude, 0.2))
        self.speed = sign * self.lap / crossing  # px of flow time
        # The flock: near one height band, spread along the way it flies.
        middle = float(rng.uniform(0.25, 0.6)) * box_h
        self.start_x = rng.uniform(0.0, self.lap, count)
        self.line_y = np.clip(middle + rng.normal(0.0, 0.12 * box_h, count), 0.08 * box_h, 0.85 * box_h)
        # Farther (higher) birds are smaller.
        self.span = BIRD_SPAN * short * (0.6 + 0.6 * self.line_y / max(box_h, 1)) * rng.uniform(0.85, 1.15, count)
        self.beat_hz = np.array([time.frequency(float(f)) for f in rng.uniform(*BEAT_HZ, count)])
        self.beat_phase = rng.uniform(0.0, 2.0 * math.pi, count)
        self.glide_hz = np.array([time.frequency(float(f)) for f in rng.uniform(0.15, 0.3, count)])
        self.glide_phase = rng.uniform(0.0, 2.0 * math.pi, count)
        self.waver_hz = np.array([time.frequency(float(f)) for f in rng.uniform(0.2, 0.4, count)])
        self.waver_phase = rng.uniform(0.0, 2.0 * math.pi, count)
        under = float(picture[y0:y1, x0:x1].mean()) if box_w and box_h else 200.0
        shade = (185, 188, 196) if under < DARK_SKY else (38, 38, 46)
        self.colour = np.empty((box_h, box_w, 3), np.uint8)
        self.colour[:] = shade
        self.thickness = max(1, round(0.12 * BIRD_SPAN * short))

    def positions(self, index: int) -> list[tuple[float, float, float, float]]:
        """Each bird's (x, y, half span, wing lift -1..1) in the flight area at frame `index`."""
        t = float(self.time.flow[index])
        birds = []
        for k in range(len(self.start_x)):
            x = (self.start_x[k] + self.speed * t) % self.lap - self.margin
            waver = 0.6 * self.span[k] * math.sin(2.0 * math.pi * self.waver_hz[k] * t + self.waver_phase[k])
            # Bursts of beats between glides: the beat's reach swells and dies with a slow envelope.
            bursts = 0.5 + 0.5 * math.sin(2.0 * math.pi * self.glide_hz[k] * t + self.glide_phase[k])
            beat = math.sin(2.0 * math.pi * self.beat_hz[k] * t + self.beat_phase[k])
            lift = 0.25 + 0.75 * beat * min(1.0, 1.6 * bursts)
            birds.append((x, float(self.line_y[k]) + waver, 0.5 * float(self.span[k]), lift))
        return birds

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0 or self.box[2] <= self.box[0] or self.box[3] <= self.box[1]:
            return []
        box_h, box_w = self.colour.shape[:2]
        canvas = np.zeros((box_h, box_w), np.uint8)
        scale = 4  # cv2's sub-pixel shift: positions in 1/16 px
        for x, y, half, lift in self.positions(index):
            if x < -2 * half or x > box_w + 2 * half:
                continue
            # Wings up: a V; level: a gull's flattened M; down: a caret over the body.
            tip_y = y - 0.7 * half * lift + 0.1 * half
            wrist_y = y - 0.35 * half * lift - 0.12 * half
            reach = half * (1.0 - 0.12 * abs(lift))  # a wing seen beating is a little shorter at either end
            points = np.array(
                [
                    (x - reach, tip_y),
                    (x - 0.45 * half, wrist_y),
                    (x, y),
                    (x + 0.45 * half, wrist_y),
                    (x + reach, tip_y),
                ]
            )
            fixed = np.round(points * (1 << scale)).astype(np.int32)
            cv2.polylines(canvas, [fixed], False, 255, self.thickness, cv2.LINE_AA, scale)
        alpha: Floats = np.asarray(canvas, np.float32) * np.float32(strength / 255.0)
        return [Patch(self.box, self.colour, alpha)]
