"""The face's layers of one clip (`FaceLayers`), painted onto the canvas before it is warped: eyelids that
close (`eyelids.py`) and a mouth that opens or smiles (`mouth.py`).

Layers are painted in canvas coordinates before the warp, so head motion and the camera carry them
along. Each frame touches only a small region, restored after the frame is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box
from stillmotion.engines.live2d.rig.blush import Blush
from stillmotion.engines.live2d.rig.eyelids import Eyelid
from stillmotion.engines.live2d.rig.mouth import MouthCurve, MouthInterior, MouthOpening
from stillmotion.engines.live2d.rig.sparkle import Sparkle
from stillmotion.engines.live2d.rig.tear import Tear
from stillmotion.engines.live2d.rig.tracing import Region

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB


class FaceLayers:
    """The eyelids and mouth of one clip, painted per frame into a working copy of the canvas."""

    def __init__(
        self,
        canvas: RGBFrame,
        *,
        offset: tuple[int, int],
        eyes: dict[str, Box],
        mouth: Box | None,
        drawn: bool,
        face: Box | None = None,
        smile_mouth: Box | None = None,
        cheeks_under: dict[str, Box] | None = None,
        tears_under: dict[str, Box] | None = None,
        sparkle_in: dict[str, Box] | None = None,
    ) -> None:
        """`mouth`: a mouth that opens; `smile_mouth`: a drawn mouth whose line bends into a smile (needs
        `face`, which also sets the least opening of a line-drawn mouth); `cheeks_under`: the eyes whose cheeks
        blush and `tears_under` those a tear runs from (both need `face`); `sparkle_in`: the eyes glints twinkle
        in."""
        self._original = canvas
        built = {side: Eyelid.build(canvas, box, offset=offset, drawn=drawn) for side, box in eyes.items()}
        self.eyelids = {side: lid for side, lid in built.items() if lid is not None}
        if len(built) > 1 and len(self.eyelids) < len(built):
            # Eyes asked to close together close together or not at all: one lid alone is a wink.
            self.eyelids = {}
        self.mouth: MouthInterior | MouthOpening | None = None
        if mouth is not None and drawn:
            self.mouth = MouthInterior.build(canvas, mouth, offset=offset, face=face)
        elif mouth is not None:
            self.mouth = MouthOpening.build(canvas, mouth, offset=offset, face=face)
        self.smile = (
            MouthCurve.build(canvas, smile_mouth, face, offset=offset)
            if smile_mouth is not None and face is not None
            else None
        )
        self.blush = (
            Blush.build(canvas, cheeks_under, face, offset=offset, drawn=drawn)
            if cheeks_under and face is not None
            else None
        )
        self.tears: dict[str, Tear] = {}
        for side, eye in (tears_under or {}).items():
            tear = Tear.build(canvas, eye, face, offset=offset, drawn=drawn) if face is not None else None
            if tear is not None:
                self.tears[side] = tear
        self.sparkles = [
            glint for eye in (sparkle_in or {}).values() for glint in Sparkle.build(canvas, eye, offset=offset)
        ]
        self._working = canvas.copy()
        self._dirty: list[Region] = []
        # What the last `canvas_for` changed: the regions it restored and those it painted.
        self.touched: list[Region] = []

    def canvas_for(
        self,
        lids: Mapping[str, float],
        mouth_open: float,
        smile: float = 0.0,
        *,
        blush: float = 0.0,
        tears: Mapping[str, float] | None = None,
        sparkle: float = 0.0,
        time_s: float = 0.0,
    ) -> RGBFrame:
        """The canvas with the layers at these strengths; regions painted for the previous frame are
        restored first. The result is reused by the next call."""
        for region in self._dirty:
            region.view(self._working)[:] = region.view(self._original)
        self.touched = list(self._dirty)
        self._dirty.clear()
        # Each layer paints over what is already there, so overlapping regions (a small face) compose:
        # the bent line first, an opening over it.
        if self.blush is not None and blush > 0.0:  # under everything else: the skin flushes
            self.blush.paint(self._working, blush)
            self._dirty.extend(self.blush.regions)
        for side, tear in self.tears.items():
            running = (tears or {}).get(side, 0.0)
            if running > 0.0:
                tear.paint(self._working, running)
                self._dirty.append(tear.region)
        if self.smile is not None and smile != 0.0:  # below 0 a frown: the corners bend down
            self.smile.paint(self._working, smile)
            self._dirty.append(self.smile.region)
        if self.mouth is not None and mouth_open > 0.0:
            self.mouth.paint(self._working, mouth_open)
            self._dirty.append(self.mouth.region)
        if sparkle > 0.0:  # in the eyes, under the lids that may close over them
            for glints in self.sparkles:
                glints.paint(self._working, sparkle, time_s)
                self._dirty.append(glints.region)
        for side, lid in self.eyelids.items():
            closure = lids.get(side, 0.0)
            if closure > 0.0:
                lid.paint(self._working, min(closure, 1.0))
                self._dirty.append(lid.region)
        self.touched += self._dirty
        return self._working
