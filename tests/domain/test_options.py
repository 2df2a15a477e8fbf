"""The bounds of a render's options, shared by every dialect's create and the local command line."""

from __future__ import annotations

import math

import pytest

from stillmotion.domain import InvalidInput
from stillmotion.domain.options import MAX_SEED, check_render_options


def test_options_within_their_bounds_and_options_not_given_pass() -> None:
    check_render_options(prompt="she smiles", duration_s=6.0, fps=25, seed=MAX_SEED)
    check_render_options(duration_s=1.0, fps=12, seed=0)
    check_render_options()


@pytest.mark.parametrize(
    ("given", "field", "rule"),
    [
        ({"duration_s": 0.5}, "duration", "must be from 1 to 12 seconds (got 0.5)"),
        ({"duration_s": math.inf}, "duration", "must be from 1 to 12 seconds (got inf)"),
        ({"fps": 31}, "fps", "must be from 12 to 30 (got 31)"),
        ({"seed": MAX_SEED + 1}, "seed", f"must be from 0 to {MAX_SEED} (got {MAX_SEED + 1})"),
        ({"prompt": ""}, "prompt", "must not be blank"),
        ({"prompt": "a" * 11, "max_prompt_chars": 10}, "prompt", "must be at most 10 characters (got 11)"),
    ],
)
def test_the_first_option_out_of_bounds_is_named_with_its_rule(given: dict[str, object], field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_render_options(**given)  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.rule) == (field, rule)
    # ... by the caller's own name for it.
    with pytest.raises(InvalidInput) as named:
        check_render_options(**given, names={field: f"--{field}"})  # type: ignore[arg-type]
    assert named.value.field == f"--{field}"
