"""The rig: the picture cut into depth-ordered layers over a background plate, each moved by its own
deformers (`layers.py`), with hair that swings as a damped spring chain (`physics.py`). What a layer hides
is painted in: smoothly by push-pull (`fill.py`), and on the plate, along the subject's outline, with the
background's own texture (`band_fill.py`, its copies shaded by `band_shade.py`). Imports run
fill, band_shade <- band_fill <- layers.

The deformers, one module per part, each building a track's field terms (`terms.py`): `head.py` (nod,
shake, tilt, turn, look, idle), `face.py` (eyes and mouth), `body.py` (breathe, sway, lean, bounce, and
whole-subject motion when no face was found), `hair.py` (hair following the head, wind in hair and
clothes). `deformers.py` puts a plan's tracks together into one `LocalField`, within the stretch limits
of `limits.py`. Imports run one way: terms <- body, hair <- head <- face <- deformers.

The face's own layers, made from the picture and painted onto the canvas before it is warped, where a warp
alone cannot go: eyelids that close (`eyelids.py`, from each eye's lash line, opening and rim as
`eye_tracing.py` reads them), a mouth that opens or bends into a smile (`mouth.py`), both built on
`tracing.py` (`Region`, the column-by-column tracing) and drawn per frame by `FaceLayers`
(`face_layers.py`). Imports run tracing <- eye_tracing <- eyelids, and tracing <- eyelids, mouth <-
face_layers."""
