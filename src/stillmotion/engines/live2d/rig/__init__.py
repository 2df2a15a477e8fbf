"""The rig: the picture cut into depth-ordered layers over a background plate, each moved by its own
deformers (`layers.py`), with hair that swings as a damped spring chain (`physics.py`)."""
