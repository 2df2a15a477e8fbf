"""`ClipRenderer`: draws a `MotionPlan` on a first frame, one frame at a time, as a layered rig
(`RenderSettings`: the clip's frame rate, length, seed and grid).

Once per clip (`ClipRenderer.__init__`): the camera path and the canvas it needs (`camera.py`,
`canvas.py`), the region weights and every track's bases and curves, the layer stack (`rig.layers`:
background plate, back hair, body, face, side locks, bangs), the eyelid and mouth layers
(`rig.face_layers`), the scene effects (`..scene`) and the ambient effects (`overlays.py`). Per frame:

1. the background plate, moved by the camera only (a copy while the camera rests; behind a character a
   little less than the camera: parallax), with the scene effects that belong to it (water, clouds, plants)
   laid on it where the far camera shows them; while the layers rest, only where the plate itself shows;
2. every layer's displacement on the coarse grid in one pass (`(gains * curves[f]) @ bases`, sub-pixel
   amounts snapped to 0); per layer, back to front: the camera, sample positions `q - D(q)`, upsampled
   over the part of the frame the layer can reach; its texture and matte, stored at twice the size with
   Lanczos midpoints and the detail resampling takes given back in advance (`sampling.sharpened`),
   resampled once (bilinear) and laid over what is below;
3. the scene effects drawn in front (steam, smoke, fog, fire, lightning), then ambient overlays.

With the camera at rest only the part of the frame a moving layer touches is composited, and only what moved or
was painted is taken from it.

Frame 0 is the input, pixel for pixel: every curve is 0 there, the camera is at rest, integer sample
positions make remap copy pixels exactly, the stack composites back to the input (`rig.layers`), and
face layers, scene effects and overlays skip strength 0.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.motion import Clock
from stillmotion.engines.live2d.parts import Parts
from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.regions import Grid, Regions, Vector
from stillmotion.engines.live2d.render.camera import CameraPath, Margins
from stillmotion.engines.live2d.render.canvas import extend_canvas
from stillmotion.engines.live2d.render.overlays import AmbientOverlays
from stillmotion.engines.live2d.render.sampling import (
    PAD_PX,
    Placement,
    padded,
    sharpened,
    support,
    window_map,
)
from stillmotion.engines.live2d.rig.animal import appendage_matte, find_appendages
from stillmotion.engines.live2d.rig.arm import (
    HAND_NO_FACE,
    HAND_NOT_BUST,
    HAND_NOT_ON_PHOTOS,
    RaisedHand,
    fits_a_bust,
    hand_side,
)
from stillmotion.engines.live2d.rig.deformers import LocalField
from stillmotion.engines.live2d.rig.face_layers import FaceLayers
from stillmotion.engines.live2d.rig.layers import (
    LAYER_GAINS,
    Layer,
    build_stack,
    double_size,
    mattes_for,
    rgba,
    with_appendages,
)
from stillmotion.engines.live2d.rig.limits import StretchLimiter
from stillmotion.engines.live2d.scene import Patch, SceneEffects, blend_into

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
SampleMap = npt.NDArray[np.float32]  # (H, W, 2) float32: the canvas position (x, y) each output pixel shows

# Displacements shorter than this (px) are drawn as none, so that a pixel that barely moves is the input's
# pixel, not a resampled one.
SNAP_PX: Final = 0.2

# How far the background behind a character moves with the camera, as a share of the character's motion.
PARALLAX: Final = 0.8
# The eyes' tracks that close the lids (all the tracks that do): not drawn where no lid was found, and why.
_LIDS_ONLY: Final = frozenset({"blink", "wink", "close"})
NO_LID: Final = "no eyelid found in the picture to close"


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
        scene_tracks = tuple(item for item in indexed if item[1].part == "scene")
        hand_tracks = tuple(item for item in indexed if item[1].part == "hand")
        local_tracks = tuple(item for item in indexed if item[1].part not in ("camera", "ambient", "scene", "hand"))

        self.camera = CameraPath.from_tracks(camera_tracks, self.clock, width=width, height=height)
        if any(track.action == "static" for track in camera_tracks) and len(camera_tracks) > 1:
            self.notes.append("camera.static: the other camera moves are not drawn")
        self.margins: Margins = self.camera.margins(width=width, height=height, reach_px=1.0)
        self.canvas = extend_canvas(first_frame, self.margins, seed=settings.seed)  # (H', W', 3) uint8
        self._offset = (np.float32(self.margins.left), np.float32(self.margins.top))

        # An animal's tail and ears, when the plan moves them: found once, for their layer and their deformers.
        appendages = find_appendages(parts, (track for _, track in local_tracks))
        regions = Regions.build(parts, self.grid, first_frame, appendages=appendages)
        geometry = regions.geometry
        self.parts = parts
        self.geometry = geometry
        mattes = mattes_for(parts, geometry, first_frame)
        appendage_mattes = appendage_matte(parts, appendages)
        if appendage_mattes is not None:
            mattes = with_appendages(mattes, *appendage_mattes)
        zoom_min, zoom_max = self.camera.zoom_range
        self.local = LocalField.build(
            local_tracks,
            regions=regions,
            clock=self.clock,
            seed=settings.seed,
            limiter=StretchLimiter(zoom_min=zoom_min, zoom_max=zoom_max),
            supports={name: support(self.grid, matte) for name, matte in mattes.items()},
        )
        self.notes.extend(self.local.notes)

        # What is painted on the face layer (it moves no field): eyelids, an open mouth, a bent line, a blush,
        # tears, glints in the eyes.
        eyes_close = {side: curve for side, curve in self.local.lids.items() if float(curve.max()) > 0.0}
        mouth_opens = float(self.local.mouth_open.max()) > 0.0
        smiles = float(np.abs(self.local.smile).max()) > 0.0
        blushes = float(self.local.blush.max()) > 0.0
        sparkles = float(self.local.sparkle.max()) > 0.0
        tears = {side: curve for side, curve in self.local.tears.items() if float(curve.max()) > 0.0}
        # Anything to draw on the subject: a deformer, or a painted layer.
        paints = bool(eyes_close) or mouth_opens or smiles or blushes or sparkles or bool(tears)
        animated = self.local.moves or paints
        self.stack = build_stack(first_frame, mattes, seed=settings.seed) if animated else None
        # Behind a character the background lies further away: the camera moves it less (parallax).
        self.far_camera = self.camera
        if self.stack is not None and geometry is not None:
            self.far_camera = CameraPath(
                zoom=np.power(self.camera.zoom, PARALLAX),
                pan_x=self.camera.pan_x * PARALLAX,
                pan_y=self.camera.pan_y * PARALLAX,
            )
        if self.stack is not None:
            # The plate on the camera's canvas: what lies beyond the picture continues the picture itself.
            inside = (
                slice(self.margins.top, self.margins.top + height),
                slice(self.margins.left, self.margins.left + width),
            )
            self.canvas = self.canvas.copy()
            self.canvas[inside] = self.stack.plate
        # The canvas at twice the size for frames where the camera moves (see the layers' below).
        camera_moves = not all(self.camera.is_still(i) for i in range(self.frame_count))
        self._doubled_canvas = double_size(sharpened(self.canvas)) if camera_moves else None
        # Each layer's texture and matte at twice the size (Lanczos midpoints): bilinear sampling of that
        # is nearly as sharp as Lanczos and as fast as bilinear.
        stacked = self.stack.layers if self.stack is not None else ()
        self._doubled = {
            layer.name: double_size(padded(sharpened(rgba(layer.texture, layer.alpha)))) for layer in stacked
        }
        # Where each layer covers what lies behind it completely, at rest.
        self._opaque = {layer.name: layer.alpha >= 1.0 for layer in stacked}
        # (L, K): how much of each term each layer follows, in the stack's order.
        names = self.stack.names if self.stack is not None else ()
        self._weight_table = np.zeros((len(names), len(self.local.groups)), dtype=np.float32)
        for number, name in enumerate(names):
            self._weight_table[number] = self.local.layer_weights(name, LAYER_GAINS)

        self.layers: FaceLayers | None = None
        self._face_layer: Layer | None = None
        drawn = parts.face is not None and parts.face.kind == "drawn"
        # A photo's smile is the warp's; a drawn mouth is a line too short to bend within the stretch limit.
        line_bends = drawn and smiles
        if geometry is not None and (eyes_close or mouth_opens or line_bends or blushes or tears or sparkles):
            face_layer = self._layer("face")
            if face_layer is not None:
                self._face_layer = face_layer
                self._face_shown = face_layer.texture.copy()  # what the doubled face texture holds now
                x0, y0 = face_layer.box[:2]
                self.layers = FaceLayers(
                    face_layer.texture,
                    offset=(-x0, -y0),
                    eyes={side: geometry.eye(side) for side in eyes_close},
                    mouth=geometry.mouth if mouth_opens else None,
                    drawn=drawn,
                    face=geometry.face,
                    smile_mouth=geometry.mouth if line_bends else None,
                    cheeks_under={side: geometry.eye(side) for side in ("left", "right")} if blushes else None,
                    tears_under={side: geometry.eye(side) for side in tears},
                    sparkle_in={side: geometry.eye(side) for side in ("left", "right")} if sparkles else None,
                )
        # Eyes that should close where no lid was found to close them (a photo's lash line lost in shadow or
        # behind glasses): a blink, a wink or closed eyes asked for are not drawn, and the notes say so.
        lidless = bool(eyes_close) and (self.layers is None or not self.layers.eyelids)
        self.not_drawn: dict[str, str] = {}
        if lidless:
            self.not_drawn["eyes"] = NO_LID
        # The second thread that composites half of each frame (`_composite`).
        self._halves = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stillmotion-half")
        # Scene effects move the background plate (the picture itself without a character) or draw over it all.
        self.scene = SceneEffects(
            scene_tracks,
            picture=first_frame,
            plate=self.stack.plate if self.stack is not None else first_frame,
            parts=parts,
            clock=self.clock,
            seed=settings.seed,
        )
        self.notes.extend(self.scene.notes)
        # A drawn character's hand, raised into the picture over it all; why not, per part, where it cannot be.
        self.hand: RaisedHand | None = None
        if hand_tracks:
            seen = self.camera.always_seen_x(width)
            self.hand, why = _raised_hand(first_frame, parts, [track for _, track in hand_tracks], self.clock, seen)
            if why:
                self.not_drawn["hand"] = why
                self.notes.append(f"hand: {why}; not drawn")
        # Where the plate shows at rest: scene effects on the plate stay behind a character that rests there.
        self._clear: npt.NDArray[np.float32] | None = None
        if self.stack is not None and self.scene.plate_effects:
            clear = np.ones((height, width), dtype=np.float32)
            for layer in self.stack.layers:
                x0, y0, x1, y1 = layer.box
                clear[y0:y1, x0:x1] *= np.float32(1.0) - layer.alpha
            self._clear = clear
        # Fire with no flame in the picture flickers the light instead, unless the light flickers already
        # ("flickering candlelight" asks for both).
        flickers = any(track.action == "flicker" for _, track in ambient_tracks)
        substitutes = tuple(item for item in self.scene.substitutes.items() if not flickers)
        self.overlays = AmbientOverlays(
            ambient_tracks + substitutes, self.clock, picture=first_frame, seed=settings.seed
        )
        # The tracks this clip really draws: camera and ambient tracks always are; scene tracks where the picture
        # shows what they move (with their region), or what is drawn instead.
        drawn_indices = set(self.local.drawn) | {i for i, track in indexed if track.part in ("camera", "ambient")}
        if lidless:
            drawn_indices -= {i for i, track in indexed if track.part == "eyes" and track.action in _LIDS_ONLY}
        placed = {**self.scene.drawn, **dict(substitutes)}
        if self.hand is not None and self.hand.box is not None:
            x0, y0, x1, y1 = self.hand.box
            placed.update({i: replace(track, region=(x0, y0, x1 - x0, y1 - y0)) for i, track in hand_tracks})
        self.drawn_tracks: tuple[Track, ...] = tuple(
            placed.get(i, track) for i, track in indexed if i in drawn_indices or i in placed
        )
        self._static = not animated and not self.overlays.effects and not self.scene.effects and self.hand is None

    def _layer(self, name: str) -> Layer | None:
        if self.stack is None:
            return None
        return next((layer for layer in self.stack.layers if layer.name == name), None)

    @property
    def frame_count(self) -> int:
        return int(self.clock.times.shape[0])

    def coarse_sample_map(
        self,
        index: int,
        *,
        weights: npt.NDArray[np.float32] | None = None,
        offset: tuple[float, float] | None = None,
    ) -> npt.NDArray[np.float32]:
        """`(h, w, 2)` float32 on the coarse grid: the position each node shows in frame `index`, on the
        canvas (default) or in a texture whose origin lies at `offset` (image pixels). `weights`: one
        layer's share of each term (all terms in full by default)."""
        return self._to_sample_map(
            index, self.local.displacement(index, weights), snap=weights is not None, offset=offset
        )

    def _to_sample_map(
        self, index: int, displacement: Vector, *, snap: bool, offset: tuple[float, float] | None
    ) -> npt.NDArray[np.float32]:
        """`coarse_sample_map` from a displacement `(h, w, 2)` at the scene's grid nodes (changed in place)."""
        grid = self.grid
        if snap:
            # A layer that moves less than a fifth of a pixel here is drawn where it is.
            still = np.hypot(displacement[..., 0], displacement[..., 1]) < SNAP_PX
            displacement[still] = 0.0
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
        origin_x, origin_y = self._offset if offset is None else (np.float32(-offset[0]), np.float32(-offset[1]))
        coarse = np.empty((*grid.shape, 2), dtype=np.float32)
        coarse[..., 0] = scene_x - displacement[..., 0] + origin_x
        coarse[..., 1] = scene_y - displacement[..., 1] + origin_y
        return coarse

    def sample_map(self, index: int, layer: str | None = None) -> SampleMap:
        """`(H, W, 2)` float32: the canvas position (x, y) each output pixel shows in frame `index`, for
        content of `layer` (`rig.layers.LAYER_GAINS`), or that follows every term in full (None).

        A view into a slightly larger array (the grid's outer ring); cv2 accepts it as is.
        """
        weights = None if layer is None else self.local.layer_weights(layer, LAYER_GAINS)
        return self._upsampled(self.coarse_sample_map(index, weights=weights))

    def _upsampled(self, coarse: npt.NDArray[np.float32]) -> SampleMap:
        """`coarse` `(h, w, 2)` (or one plane, `(h, w)`) on the grid upsampled to the frame `(H, W, 2)` (a view
        into a slightly larger array). resize(INTER_LINEAR) is exact for the linear part (identity, zoom, pan)
        except in the outer half cell, where it clamps: so the grid has a ring of extra cells, and the frame is
        cut from the middle."""
        grid = self.grid
        extended = cv2.resize(coarse, grid.extended_size, interpolation=cv2.INTER_LINEAR)
        cell = grid.cell_px
        return np.asarray(extended, dtype=np.float32)[cell : cell + self.height, cell : cell + self.width]

    def _background(self, index: int, rows: tuple[int, int] | None = None, *, out: RGBFrame | None = None) -> RGBFrame:
        """The plate as the far camera shows it in frame `index`, over frame `rows` (all by default); into
        `out` when given."""
        top, bottom = rows if rows is not None else (0, self.height)
        if self.camera.is_still(index):
            y0, x0 = self.margins.top + top, self.margins.left
            still = self.canvas[y0 : y0 + bottom - top, x0 : x0 + self.width]
            if out is None:
                return still.copy()
            out[:] = still
            return out
        # The far camera is a zoom and a pan: an affine map into the doubled canvas, warped without sample maps.
        zoom = float(self.far_camera.zoom[index])
        centre_x, centre_y = (self.width - 1) / 2.0, (self.height - 1) / 2.0
        shift_x = centre_x - centre_x / zoom + float(self.far_camera.pan_x[index]) + float(self._offset[0])
        shift_y = centre_y + (top - centre_y) / zoom + float(self.far_camera.pan_y[index]) + float(self._offset[1])
        to_canvas = np.array([[2.0 / zoom, 0.0, 2.0 * shift_x], [0.0, 2.0 / zoom, 2.0 * shift_y]], dtype=np.float64)
        assert self._doubled_canvas is not None
        warped = cv2.warpAffine(
            self._doubled_canvas,
            to_canvas,
            (self.width, bottom - top),
            dst=out,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        return np.asarray(warped, dtype=np.uint8)

    def _redouble_face(self, painted: RGBFrame) -> None:
        """Bring the face layer's doubled texture up to date where the eyelids and mouth painted this frame
        differ from what it holds (they paint a few small regions)."""
        layer = self._face_layer
        assert layer is not None and self.layers is not None
        height, width = painted.shape[:2]
        # Only the regions the face layers restored or painted can differ.
        touched = self.layers.touched
        if not touched:
            return
        bx0, by0 = min(r.x0 for r in touched), min(r.y0 for r in touched)
        bx1, by1 = max(r.x1 for r in touched), max(r.y1 for r in touched)
        changed = (painted[by0:by1, bx0:bx1] != self._face_shown[by0:by1, bx0:bx1]).any(axis=2)
        rows, columns = np.flatnonzero(changed.any(axis=1)) + by0, np.flatnonzero(changed.any(axis=0)) + bx0
        if rows.size == 0:
            return
        # A midpoint depends on the 4 pixels on either side, a sharpened one on 3 more.
        reach = 7
        # What to refresh: the change and the midpoints it reaches; computed from a crop `reach` wider still.
        y0, y1 = max(0, int(rows[0]) - reach), min(height, int(rows[-1]) + 1 + reach)
        x0, x1 = max(0, int(columns[0]) - reach), min(width, int(columns[-1]) + 1 + reach)
        cy0, cy1 = max(0, y0 - reach), min(height, y1 + reach)
        cx0, cx1 = max(0, x0 - reach), min(width, x1 + reach)
        doubled = double_size(sharpened(rgba(painted[cy0:cy1, cx0:cx1], layer.alpha[cy0:cy1, cx0:cx1])))
        pad = PAD_PX
        self._doubled[layer.name][2 * (y0 + pad) : 2 * (y1 + pad), 2 * (x0 + pad) : 2 * (x1 + pad)] = doubled[
            2 * (y0 - cy0) : 2 * (y1 - cy0), 2 * (x0 - cx0) : 2 * (x1 - cx0)
        ]
        self._face_shown[y0:y1, x0:x1] = painted[y0:y1, x0:x1]

    def _placement(self, layer: Layer, index: int, displacement: Vector) -> Placement | None:
        """Where `layer` shows in frame `index` and what it samples there (`sampling.window_map`), or None when it
        rests where it is in the input. The moved share comes only with the camera at rest (when it moves,
        every pixel is resampled)."""
        x0, y0, x1, y1 = layer.box
        coarse = self._to_sample_map(index, displacement, snap=True, offset=(float(x0), float(y0)))
        size = (x1 - x0, y1 - y0)
        if not self.camera.is_still(index):
            return window_map(coarse, size, self.grid, (self.width, self.height), moved=None)
        grid = self.grid
        moved = (coarse[..., 0] != grid.x - np.float32(x0)) | (coarse[..., 1] != grid.y - np.float32(y0))
        if not moved.any():
            return None
        return window_map(coarse, size, self.grid, (self.width, self.height), moved=moved.astype(np.float32))

    def _lay_moved(
        self,
        target: RGBFrame,
        origin: tuple[int, int],
        layer: Layer,
        texture: RGBFrame,
        rows: tuple[int, int],
        placement: Placement,
    ) -> None:
        """Resample `layer` over its window (frame pixels, `placement`) within frame `rows` of `target`, whose
        top-left is frame pixel `origin`. The placement's sample positions are in the padded, doubled texture;
        its moved share (None while the camera moves) is each pixel's share displaced: where it is 0 the layer
        rests, and shows `texture`, its own colours as they are, not the sharpened copy it is resampled from."""
        (wx0, wy0, wx1, wy1), sample, moved = placement
        py0, py1 = max(wy0, rows[0]), min(wy1, rows[1])
        if py1 <= py0:
            return
        inside = slice(py0 - wy0, py1 - wy0)
        sampled = cv2.remap(
            self._doubled[layer.name],
            sample[0][inside],
            sample[1][inside],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )  # (h, w, 4) uint8
        colour = cv2.cvtColor(sampled, cv2.COLOR_RGBA2RGB)
        if moved is not None:
            x0, y0, x1, y1 = layer.box
            cx0, cy0, cx1, cy1 = max(wx0, x0), max(py0, y0), min(wx1, x1), min(py1, y1)
            if cx1 > cx0 and cy1 > cy0:
                at_rest = (moved[cy0 - wy0 : cy1 - wy0, cx0 - wx0 : cx1 - wx0] <= 0.0).view(np.uint8)
                cv2.copyTo(
                    np.ascontiguousarray(texture[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]),
                    at_rest,
                    colour[cy0 - py0 : cy1 - py0, cx0 - wx0 : cx1 - wx0],
                )
        weight = cv2.extractChannel(sampled, 3).astype(np.float32)
        below = target[py0 - origin[1] : py1 - origin[1], wx0 - origin[0] : wx1 - origin[0]]
        below[:] = cv2.blendLinear(colour, below, weight, 255.0 - weight)

    def _lay_still(
        self, target: RGBFrame, area: tuple[int, int, int, int], layer: Layer, texture: RGBFrame, rows: tuple[int, int]
    ) -> None:
        """Lay `layer` (with `texture`) where it rests, over the part of `target` (frame pixels `area`) it
        covers within frame `rows`."""
        ax0, ay0, ax1, ay1 = area
        x0, y0, x1, y1 = layer.box
        cx0, cy0, cx1, cy1 = max(ax0, x0), max(ay0, y0, rows[0]), min(ax1, x1), min(ay1, y1, rows[1])
        if cx1 <= cx0 or cy1 <= cy0:
            return
        inside = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
        under = (slice(cy0 - ay0, cy1 - ay0), slice(cx0 - ax0, cx1 - ax0))
        alpha = layer.alpha[inside]
        below = target[under]
        below[:] = cv2.blendLinear(np.ascontiguousarray(texture[inside]), below, alpha, np.float32(1.0) - alpha)

    def _composite(self, index: int) -> RGBFrame:
        """The layer stack drawn for frame `index`. With the camera at rest only the part of the frame that
        a moving (or repainted) layer touches is composited; the rest is the input."""
        assert self.stack is not None
        face_texture: RGBFrame | None = None
        if self.layers is not None:
            lids: dict[str, float] = {side: float(curve[index]) for side, curve in self.local.lids.items()}
            face_texture = self.layers.canvas_for(
                lids,
                float(self.local.mouth_open[index]),
                float(self.local.smile[index]),
                blush=float(self.local.blush[index]),
                tears={side: float(curve[index]) for side, curve in self.local.tears.items()},
                sparkle=float(self.local.sparkle[index]),
                time_s=float(self.clock.times[index]),
            )
            self._redouble_face(face_texture)
        # Every layer's displacement at once: one pass over the bases.
        displacements = self.local.displacements(index, self._weight_table)  # (L, h, w, 2)
        placements = {
            layer.name: self._placement(layer, index, displacements[number])
            for number, layer in enumerate(self.stack.layers)
        }
        if self.camera.is_still(index):
            touched: list[tuple[int, int, int, int]] = []
            for layer in self.stack.layers:
                placement = placements[layer.name]
                if placement is not None:
                    touched += [placement[0], layer.box]
                elif layer is self._face_layer and face_texture is not None:
                    touched.append(layer.box)
            frame = self.first_frame.copy()
            scene = self._plate_patches(index)
            # Where the layers rest, the plate's scene shows only where the plate itself does.
            self._lay_scene(frame, scene, index, far=True, behind_character=True)
            if not touched:
                return frame
            area = (
                min(box[0] for box in touched),
                min(box[1] for box in touched),
                min(self.width, max(box[2] for box in touched)),
                min(self.height, max(box[3] for box in touched)),
            )
            top, left = self.margins.top, self.margins.left
            target = self.canvas[top + area[1] : top + area[3], left + area[0] : left + area[2]].copy()
            self._lay_scene(target, scene, index, far=True, origin=area[:2])
        else:
            frame = np.empty((self.height, self.width, 3), dtype=np.uint8)
            area = (0, 0, self.width, self.height)
            target = frame
            scene = self._plate_patches(index)
            if scene:
                # The plate and its scene first, then the layers over them (below, in halves).
                middle = (area[1] + area[3]) // 2
                upper = self._halves.submit(self._background, index, (0, middle), out=frame[:middle])
                self._background(index, (middle, self.height), out=frame[middle:])
                upper.result()
                self._lay_scene(frame, scene, index, far=True)

        def lay(rows: tuple[int, int]) -> None:
            """The stack over frame `rows` of `target` (the plate first while the camera moves)."""
            if target is frame and not scene:
                self._background(index, rows, out=frame[rows[0] : rows[1]])
            for layer in self.stack.layers if self.stack is not None else ():
                placement = placements[layer.name]
                texture = face_texture if layer is self._face_layer and face_texture is not None else layer.texture
                if placement is not None:
                    self._lay_moved(target, area[:2], layer, texture, rows, placement)
                else:
                    self._lay_still(target, area, layer, texture, rows)

        # The two halves of the area on two threads: each layer is laid over what lies below it row by row, so
        # the halves never meet, and cv2 releases the GIL for the work.
        middle = (area[1] + area[3]) // 2
        other_half = self._halves.submit(lay, (middle, area[3]))
        lay((area[1], middle))
        other_half.result()
        if target is not frame:
            # The stack at rest composites back to the input up to a level of rounding at soft edges: outside
            # what moved or was painted this frame, the input's own pixels.
            changed = self._changed(placements, area)
            inside = frame[area[1] : area[3], area[0] : area[2]]
            inside[changed] = target[changed]
        return frame

    def _changed(
        self, placements: dict[str, Placement | None], area: tuple[int, int, int, int]
    ) -> npt.NDArray[np.bool_]:
        """`(h, w)` over `area`: where what shows differs from the input this frame. Back to front: where a
        layer is displaced (whatever its alpha there: a part that moves away uncovers what lies behind it) or
        the face layers painted or restored a region, unless a layer in front lies there opaque and at rest
        (it shows its own input pixels, and a resampled copy of them would not be exact)."""
        assert self.stack is not None
        ax0, ay0, ax1, ay1 = area
        changed = np.zeros((ay1 - ay0, ax1 - ax0), dtype=bool)
        for layer in self.stack.layers:
            placement = placements[layer.name]
            x0, y0, x1, y1 = layer.box
            # Over `area`, where the layer is displaced this frame (None: nowhere, it rests).
            displaced: npt.NDArray[np.bool_] | None = None
            if placement is not None:
                (wx0, wy0, wx1, wy1), _, moved = placement
                window = (slice(wy0 - ay0, wy1 - ay0), slice(wx0 - ax0, wx1 - ax0))
                displaced = np.zeros((ay1 - ay0, ax1 - ax0), dtype=bool)
                displaced[window] = moved > 0.0 if moved is not None else True
            cx0, cy0, cx1, cy1 = max(ax0, x0), max(ay0, y0), min(ax1, x1), min(ay1, y1)
            if cx1 > cx0 and cy1 > cy0:
                inside = (slice(cy0 - ay0, cy1 - ay0), slice(cx0 - ax0, cx1 - ax0))
                hides = self._opaque[layer.name][cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
                changed[inside] &= ~(hides if displaced is None else hides & ~displaced[inside])
            if displaced is not None:
                changed[window] |= displaced[window]
            if layer is self._face_layer and self.layers is not None:
                for r in self.layers.touched:
                    changed[
                        max(0, y0 + r.y0 - ay0) : max(0, y0 + r.y1 - ay0),
                        max(0, x0 + r.x0 - ax0) : max(0, x0 + r.x1 - ax0),
                    ] = True
        return changed

    def frame(self, index: int) -> RGBFrame:
        """Frame `index` as `(H, W, 3)` uint8, a new array."""
        if self._static and self.camera.is_still(index):
            return self.first_frame.copy()
        if self.stack is None:
            frame = self._background(index)
            self._lay_scene(frame, self._plate_patches(index), index, far=True)
        else:
            frame = self._composite(index)
        front = [] if self.hand is None else self.hand.patches(index)
        front += [patch for effect in self.scene.front_effects for patch in effect.patches(index)]
        self._lay_scene(frame, front, index, far=False)
        self.overlays.draw(frame, index)
        return frame

    def _plate_patches(self, index: int) -> list[Patch]:
        return [patch for effect in self.scene.plate_effects for patch in effect.patches(index)]

    def _lay_scene(
        self,
        target: RGBFrame,
        patches: list[Patch],
        index: int,
        *,
        far: bool,
        origin: tuple[int, int] = (0, 0),
        behind_character: bool = False,
    ) -> None:
        """Lay scene `patches` (picture pixels) on `target`, whose top-left is frame pixel `origin`: where they are
        while the camera rests, else where the camera (the far one for the plate: `far`) shows them.
        `behind_character`: only where the plate shows at rest."""
        if not patches:
            return
        camera = self.far_camera if far else self.camera
        for patch in patches:
            if not camera.is_still(index):
                self._lay_moved_patch(target, patch, camera, index)
                continue
            weight = None
            if behind_character and self._clear is not None:
                x0, y0, x1, y1 = patch.box
                weight = np.asarray(cv2.multiply(patch.alpha, self._clear[y0:y1, x0:x1]), np.float32)
            blend_into(target, origin, patch, weight)

    def _lay_moved_patch(self, frame: RGBFrame, patch: Patch, camera: CameraPath, index: int) -> None:
        """`patch` where `camera` shows it in frame `index` (a zoom and a pan: one affine warp of its box)."""
        zoom = float(camera.zoom[index])
        centre_x, centre_y = (self.width - 1) / 2.0, (self.height - 1) / 2.0
        pan_x, pan_y = float(camera.pan_x[index]), float(camera.pan_y[index])
        x0, y0, x1, y1 = patch.box
        # Frame pixel p shows scene point c + (p - c) / zoom + pan: the box's corners, seen.
        left = max(0, math.floor(centre_x + (x0 - pan_x - centre_x) * zoom))
        top = max(0, math.floor(centre_y + (y0 - pan_y - centre_y) * zoom))
        right = min(self.width, math.ceil(centre_x + (x1 - pan_x - centre_x) * zoom) + 1)
        bottom = min(self.height, math.ceil(centre_y + (y1 - pan_y - centre_y) * zoom) + 1)
        if right <= left or bottom <= top:
            return
        to_patch = np.array(
            [
                [1.0 / zoom, 0.0, centre_x + (left - centre_x) / zoom + pan_x - x0],
                [0.0, 1.0 / zoom, centre_y + (top - centre_y) / zoom + pan_y - y0],
            ],
            dtype=np.float64,
        )
        size = (right - left, bottom - top)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        colour = cv2.warpAffine(patch.colour, to_patch, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(patch.alpha, to_patch, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
        if patch.mode == "add":
            colour = cv2.warpAffine(patch.colour, to_patch, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
        seen = Patch(
            (left, top, right, bottom), np.asarray(colour, np.uint8), np.asarray(alpha, np.float32), patch.mode
        )
        blend_into(frame, (0, 0), seen)


def _raised_hand(
    picture: RGBFrame, parts: Parts, tracks: list[Track], clock: Clock, seen: tuple[float, float]
) -> tuple[RaisedHand | None, str | None]:
    """The hand the `hand.*` tracks raise, or why there is none: only a drawn character gets one. `seen`: the
    columns every frame shows (the hand is kept within them)."""
    face = parts.face
    if face is None:
        return None, HAND_NO_FACE
    if face.kind != "drawn":
        return None, HAND_NOT_ON_PHOTOS
    if not fits_a_bust(face.box, parts.height):
        return None, HAND_NOT_BUST
    hand = RaisedHand(picture, parts, tracks, clock, side=hand_side(tracks, face.box, parts.width), seen=seen)
    if hand.box is None:
        return None, "no room in the picture for a hand beside the face"
    return hand, None
