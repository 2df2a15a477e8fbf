"""The camera: zoom and pan per frame (`CameraPath`), and the margins (`Margins`) the canvas needs around
the picture so that every scene point a frame looks at lies on it.

Output pixel p looks at scene point `q = c + (p - c) / zoom + pan`, c the frame centre. Film language
(see `live2d/plan.py`): `pan right` moves `pan` right, so content moves left; `tilt up` moves it up, so content
moves down; `zoom in` makes content larger.

Pans and tilts also push in just enough to hide half of their travel, so that a pan reveals a narrow
band of the extended canvas rather than a wide one; a zoom out reveals it on every side. The canvas is
the first frame padded by exactly the margin the path needs, filled with content that continues the
picture (`canvas.extend_canvas`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock, Curve
from stillmotion.engines.live2d.plan import Track

# At amplitude 1.0: zoom by 15%; pan or tilt by 10% of the frame's width or height.
ZOOM_FRACTION: Final = 0.15
PAN_FRACTION: Final = 0.10
# Share of a pan's travel hidden by pushing in (the rest reveals the extended canvas).
PAN_HIDDEN: Final = 0.5


@dataclass(frozen=True)
class Margins:
    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True)
class CameraPath:
    zoom: Curve  # (T,) > 0, 1 = as framed
    pan_x: Curve  # (T,) image pixels the view centre has moved right
    pan_y: Curve  # (T,) ... moved down

    @classmethod
    def still(cls, frame_count: int) -> CameraPath:
        return cls(zoom=np.ones(frame_count), pan_x=np.zeros(frame_count), pan_y=np.zeros(frame_count))

    @classmethod
    def from_tracks(cls, tracks: tuple[Track, ...], clock: Clock, *, width: int, height: int) -> CameraPath:
        """Camera tracks combined: zooms multiply, pans add. `static` anywhere means no camera move."""
        frame_count = clock.times.shape[0]
        if any(track.action == "static" for track in tracks):
            return cls.still(frame_count)
        log_zoom = np.zeros(frame_count)
        pan_x = np.zeros(frame_count)
        pan_y = np.zeros(frame_count)
        for track in tracks:
            progress = motion.ramp_curve(track, clock)
            if track.action == "zoom":
                amount = math.log1p(ZOOM_FRACTION * track.amplitude)
                log_zoom += amount * progress if track.direction == "in" else -amount * progress
            elif track.action in ("pan", "tilt"):
                side = width if track.action == "pan" else height
                sign = -1.0 if track.direction in ("left", "up") else 1.0
                travel = PAN_FRACTION * track.amplitude * side * progress  # (T,) px
                if track.action == "pan":
                    pan_x += sign * travel
                else:
                    pan_y += sign * travel
                # Pushing in by z frees (side / 2) (1 - 1 / z) px on each side.
                log_zoom -= np.log1p(-np.minimum(2.0 * PAN_HIDDEN * travel / side, 0.5))
        return cls(zoom=np.exp(log_zoom), pan_x=pan_x, pan_y=pan_y)

    @property
    def zoom_range(self) -> tuple[float, float]:
        return float(self.zoom.min()), float(self.zoom.max())

    def always_seen_x(self, width: int) -> tuple[float, float]:
        """The columns (x0, x1) of the picture that every frame shows: a push-in or a pan leaves the sides."""
        centre = (width - 1) / 2.0
        left = centre - centre / self.zoom + self.pan_x
        right = centre + centre / self.zoom + self.pan_x
        return max(0.0, float(left.max())), min(float(width - 1), float(right.min()))

    def is_still(self, index: int) -> bool:
        return bool(self.zoom[index] == 1.0 and self.pan_x[index] == 0.0 and self.pan_y[index] == 0.0)

    def scene_points(
        self, index: int, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], *, width: int, height: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The scene points `(x, y)` output pixels look at in frame `index`."""
        centre_x = np.float32((width - 1) / 2.0)
        centre_y = np.float32((height - 1) / 2.0)
        inverse = np.float32(1.0 / self.zoom[index])
        scene_x = centre_x + (x - centre_x) * inverse + np.float32(self.pan_x[index])
        scene_y = centre_y + (y - centre_y) * inverse + np.float32(self.pan_y[index])
        return scene_x, scene_y

    def margins(self, *, width: int, height: int, reach_px: float, guard_px: int = 2) -> Margins:
        """Padding on each side so that every scene point the output (and `reach_px` beyond its edges, the
        coarse grid's outer ring) ever looks at lies on the canvas."""
        centre_x = (width - 1) / 2.0
        centre_y = (height - 1) / 2.0
        half_w = centre_x + reach_px
        half_h = centre_y + reach_px
        left = np.max(-(centre_x - half_w / self.zoom + self.pan_x))
        right = np.max(centre_x + half_w / self.zoom + self.pan_x - (width - 1))
        top = np.max(-(centre_y - half_h / self.zoom + self.pan_y))
        bottom = np.max(centre_y + half_h / self.zoom + self.pan_y - (height - 1))

        def pad(need: float) -> int:
            return max(0, math.ceil(need)) + guard_px

        return Margins(pad(float(left)), pad(float(top)), pad(float(right)), pad(float(bottom)))
