"""Drawing a clip: how each frame is made from the first frame and a `MotionPlan`.

`ClipRenderer` (`compositor.py`) sets everything up once per clip, then draws frame by frame:

1. the camera (`camera.py`): zoom and pan per frame, and the margins they need around the picture; the
   canvas is the picture extended by those margins with its own texture (`canvas.py`, the patches'
   seams in `seams.py`), built once from the clip's seed, so what a move reveals never flickers;
2. the rig (`..rig`): the picture cut into layers over a background plate, each moved by its own
   deformers within the stretch limits, with eyelids and a mouth painted onto the canvas first where a
   warp alone cannot close an eye or open a mouth (`rig.face_layers`);
3. per frame, back to front: the plate moved by the camera only, then each layer's displacement and the
   camera turned into sample positions over the window it can reach (`sampling.py`), its texture resampled
   there and laid over what is below, and the detail resampling took given back;
   Scene effects (`..scene`: water, clouds, plants) are laid on the plate before the layers, so that a
   character stays in front of them;
4. scene effects drawn in front (steam, smoke, fog, fire, lightning), then ambient effects (`overlays.py`:
   snow, rain, petals, sparkles, flicker, glow) over the result.

Frame 0 is the input, pixel for pixel. Imports run one way: seams <- canvas, camera <- canvas, and
camera, canvas, overlays, sampling <- compositor.
"""
