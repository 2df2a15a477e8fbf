"""Draw a `MotionPlan` on a first frame, one frame at a time.

Once per clip (`ClipRenderer.__init__`): the camera path and the canvas it needs, the region weights
and every track's bases and curves, the face layers, the ambient effects. Per frame:

1. local displacement on the coarse grid: `curves[f] @ bases`                (~0.1 ms)
2. camera: the scene point each coarse output node looks at, the displacement there (a tiny remap),
   sample positions `q - D(q)` in canvas pixels; upsampled with cv2.resize   (~1 ms)
3. face layers painted into the canvas (small regions), cv2.remap of the canvas  (~2.5 ms, 2 threads)
4. ambient overlays on the result                                           (~0.5-1.5 ms)

Frame 0 is the input, pixel for pixel: every curve is 0 there, the camera is at rest, integer sample
positions make remap copy pixels exactly, and layers and overlays skip strength 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.camera import CameraPath, Margins, extend_canvas
from stillmotion.engines.live2d.fields import LocalField, StretchLimiter
from stillmotion.engines.live2d.layers import FaceLayers
from stillmotion.engines.live2d.motion import Clock
from stillmotion.engines.live2d.overlays import AmbientOverlays
from stillmotion.engines.live2d.parts import Parts
from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.regions import Grid, Regions

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
SampleMap = npt.NDArray[np.float32]  # (H, W, 2) float32: the canvas position (x, y) each output pixel shows

# remap's second map is unused when the first holds (x, y) pairs; OpenCV takes an empty one for that.
_NO_SECOND_MAP = np.empty((0, 0), dtype=np.float32)


@dataclass(frozen=True)
class RenderSettings:
    fps: int
    frame_count: int
    seed: int
    loop: bool = False
    cell_px: int = 8


class ClipRenderer:
    """`frame(index)` is `first_frame` `(H, W, 3)` uint8 moved by `plan` at `index / fps` seconds."""

    def __init__(self, first_frame: RGBFrame, parts: Parts, plan: MotionPlan, settings: RenderSettings) -> None:
        height, width = first_frame.shape[:2]
        if (parts.width, parts.height) != (width, height):
            raise ValueError(f"parts describe a {parts.width}x{parts.height} image, the frame is {width}x{height}")
        self.width = width
        self.height = height
        self.first_frame = first_frame
        self.clock = Clock.for_frames(settings.frame_count, fps=settings.fps, loop=settings.loop)
        self.grid = Grid.for_frame(width, height, cell_px=settings.cell_px)
        self.notes: list[str] = []

        tracks: tuple[Track, ...] = plan.tracks
        if plan.still and tracks:
            self.notes.append("the prompt asks for stillness: motion tracks are not drawn")
        if plan.still:
            tracks = ()
        indexed = tuple(enumerate(tracks))
        camera_tracks = tuple(track for _, track in indexed if track.part == "camera")
        ambient_tracks = tuple(item for item in indexed if item[1].part == "ambient")
        local_tracks = tuple(item for item in indexed if item[1].part not in ("camera", "ambient"))

        self.camera = CameraPath.from_tracks(camera_tracks, self.clock, width=width, height=height)
        if any(track.action == "static" for track in camera_tracks) and len(camera_tracks) > 1:
            self.notes.append("camera.static: the other camera moves are not drawn")
        self.margins: Margins = self.camera.margins(width=width, height=height, reach_px=1.0)
        self.canvas = extend_canvas(first_frame, self.margins)  # (H', W', 3) uint8
        self._offset = (np.float32(self.margins.left), np.float32(self.margins.top))

        regions = Regions.build(parts, self.grid, first_frame)
        zoom_min, zoom_max = self.camera.zoom_range
        self.local = LocalField.build(
            local_tracks,
            regions=regions,
            clock=self.clock,
            seed=settings.seed,
            limiter=StretchLimiter(zoom_min=zoom_min, zoom_max=zoom_max),
        )
        self.notes.extend(self.local.notes)

        self.layers: FaceLayers | None = None
        geometry = regions.geometry
        eyes_close = {side: curve for side, curve in self.local.lids.items() if float(curve.max()) > 0.0}
        mouth_opens = float(self.local.mouth_open.max()) > 0.0
        drawn = parts.face is not None and parts.face.kind == "drawn"
        # A photo's smile is the warp's; a drawn mouth is a line too short to bend within the stretch limit.
        line_bends = drawn and float(self.local.smile.max()) > 0.0
        if geometry is not None and (eyes_close or mouth_opens or line_bends):
            self.layers = FaceLayers(
                self.canvas,
                offset=(self.margins.left, self.margins.top),
                eyes={side: geometry.eye(side) for side in eyes_close},
                mouth=geometry.mouth if mouth_opens else None,
                drawn=drawn,
                face=geometry.face,
                smile_mouth=geometry.mouth if line_bends else None,
            )
        self.overlays = AmbientOverlays(ambient_tracks, self.clock, width=width, height=height, seed=settings.seed)
        self._static = not self.local.moves and self.layers is None and not self.overlays.effects

    @property
    def frame_count(self) -> int:
        return int(self.clock.times.shape[0])

    def coarse_sample_map(self, index: int) -> npt.NDArray[np.float32]:
        """`(h, w, 2)` float32 on the coarse grid: the canvas position each node shows in frame `index`."""
        grid = self.grid
        displacement = self.local.displacement(index)  # (h, w, 2) at the scene's grid nodes
        if self.camera.is_still(index):
            scene_x, scene_y = grid.x, grid.y
        else:
            scene_x, scene_y = self.camera.scene_points(index, grid.x, grid.y, width=self.width, height=self.height)
            if self.local.moves:
                # The displacement where each node now looks: a bilinear lookup in the grid. remap rounds
                # the lookup position to 1/32 cell, which moves the displacement by well under 0.1 px.
                cell = np.float32(grid.cell_px)
                lookup_x = (scene_x + np.float32(0.5)) / cell + np.float32(0.5)
                lookup_y = (scene_y + np.float32(0.5)) / cell + np.float32(0.5)
                displacement = np.asarray(
                    cv2.remap(displacement, lookup_x, lookup_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
                    dtype=np.float32,
                )
        coarse = np.empty((*grid.shape, 2), dtype=np.float32)
        coarse[..., 0] = scene_x - displacement[..., 0] + self._offset[0]
        coarse[..., 1] = scene_y - displacement[..., 1] + self._offset[1]
        return coarse

    def sample_map(self, index: int) -> SampleMap:
        """`(H, W, 2)` float32: the canvas position (x, y) each output pixel shows in frame `index`.

        A view into a slightly larger array (the grid's outer ring); cv2 accepts it as is.
        """
        grid = self.grid
        # resize(INTER_LINEAR) is exact for the linear part (identity, zoom, pan) except in the outer half
        # cell, where it clamps: so the grid has a ring of extra cells, and the frame is cut from the middle.
        extended = cv2.resize(self.coarse_sample_map(index), grid.extended_size, interpolation=cv2.INTER_LINEAR)
        cell = grid.cell_px
        return np.asarray(extended, dtype=np.float32)[cell : cell + self.height, cell : cell + self.width]

    def frame(self, index: int) -> RGBFrame:
        """Frame `index` as `(H, W, 3)` uint8, a new array."""
        if self._static and self.camera.is_still(index):
            return self.first_frame.copy()
        source = self.canvas
        if self.layers is not None:
            lids: dict[str, float] = {side: float(curve[index]) for side, curve in self.local.lids.items()}
            source = self.layers.canvas_for(lids, float(self.local.mouth_open[index]), float(self.local.smile[index]))
        # Float maps straight into remap: it converts them to 1/32 px fixed point block by block, as fast
        # as precomputed CV_16SC2 maps here and without a separate convertMaps pass. Integer positions
        # stay exact; every sample lies on the canvas, REFLECT_101 only guards the last rounding.
        warped = cv2.remap(
            source, self.sample_map(index), _NO_SECOND_MAP, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        frame = np.asarray(warped, dtype=np.uint8)
        self.overlays.draw(frame, index)
        return frame
