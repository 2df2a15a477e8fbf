"""stillmotion: turn one still image and a prompt into a short video, behind the hosted APIs' wire formats."""

__version__ = "0.1.0"
