"""The SDK's typed views of the `motion_plan` and `seed` extensions."""

from __future__ import annotations

from stillmotion.client.models import generation_from_poll


def test_a_poll_with_a_plan_exposes_tracks_and_notes() -> None:
    body = {
        "id": "1",
        "status": "completed",
        "video": {"url": "http://x/v.mp4"},
        "motion_plan": {
            "duration_s": 6.0,
            "still": False,
            "tracks": [
                {"part": "head", "action": "nod", "direction": None, "start_s": 0.0, "end_s": 3.0,
                 "amplitude": 0.7, "repeats": 2, "source": "prompt"},
                {"part": "camera", "action": "zoom", "direction": "in", "start_s": 0.0, "end_s": 6.0,
                 "amplitude": 0.35, "repeats": 1, "source": "prompt"},
                {"part": "eyes", "action": "blink", "direction": None, "start_s": 1.0, "end_s": 1.2,
                 "amplitude": 1.0, "repeats": 1, "source": "optimizer"},
                {"part": "eyes", "action": "blink", "direction": None, "start_s": 4.0, "end_s": 4.2,
                 "amplitude": 1.0, "repeats": 1, "source": "optimizer"},
            ],
            "optimized_prompt": "She nods twice while the camera slowly zooms in.",
            "notes": ["not animated: 'waves' (hands and arms are not drawn)"],
        },
    }
    generation = generation_from_poll(body)
    plan = generation.plan
    assert plan is not None
    assert plan.drawn == ("head.nod", "camera.zoom in", "eyes.blink")
    assert plan.tracks[0].repeats == 2 and plan.tracks[2].source == "optimizer"
    assert plan.notes == ("not animated: 'waves' (hands and arms are not drawn)",)
    assert plan.optimized_prompt.startswith("She nods")


def test_a_poll_without_a_plan_has_none() -> None:
    assert generation_from_poll({"id": "1", "status": "queued"}).plan is None
    assert generation_from_poll({"id": "1", "status": "queued", "motion_plan": "garbage"}).plan is None


def test_a_finished_poll_carries_the_seed_used_and_others_have_none() -> None:
    assert generation_from_poll({"id": "1", "status": "completed", "seed": 2831838579}).seed == 2831838579
    assert generation_from_poll({"id": "1", "status": "completed", "seed": 0}).seed == 0
    assert generation_from_poll({"id": "1", "status": "queued"}).seed is None
    for garbage in (None, True, "42", 4.2, -1):
        assert generation_from_poll({"id": "1", "status": "completed", "seed": garbage}).seed is None
