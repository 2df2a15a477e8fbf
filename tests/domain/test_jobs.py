from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from stillmotion.domain import IllegalTransition, JobStatus, check_transition

TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}


def test_terminal_states() -> None:
    assert {s for s in JobStatus if s.is_terminal()} == TERMINAL


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (JobStatus.QUEUED, JobStatus.SUCCEEDED),  # nothing finishes without running
        (JobStatus.SUCCEEDED, JobStatus.RUNNING),
        (JobStatus.FAILED, JobStatus.QUEUED),
        (JobStatus.EXPIRED, JobStatus.SUCCEEDED),
        (JobStatus.CANCELLED, JobStatus.RUNNING),
    ],
)
def test_illegal_transitions_raise(current: JobStatus, new: JobStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"{current.value} -> {new.value}"):
        check_transition(current, new)


class JobLifecycle(RuleBasedStateMachine):
    """Random walks over the states: a terminal job only ever moves on to `expired`, and expired is final."""

    def __init__(self) -> None:
        super().__init__()
        self.status = JobStatus.QUEUED
        self.finished_once = False

    @rule(new=st.sampled_from(list(JobStatus)))
    def move(self, new: JobStatus) -> None:
        before = self.status
        try:
            check_transition(before, new)
        except IllegalTransition:
            if before is JobStatus.EXPIRED:
                return
            # Outside the terminal states only two things are refused: expiring an unfinished job, and a
            # queued job finishing (or re-queueing) without ever running.
            assert (
                before.is_terminal()
                or new is JobStatus.EXPIRED
                or (before is JobStatus.QUEUED and new in (JobStatus.QUEUED, JobStatus.SUCCEEDED))
            )
            return
        if before.is_terminal():
            assert new is JobStatus.EXPIRED
        if new is JobStatus.SUCCEEDED:
            assert before is JobStatus.RUNNING
        self.status = new
        self.finished_once |= new.is_terminal()

    @invariant()
    def never_unfinishes(self) -> None:
        if self.finished_once:
            assert self.status.is_terminal()


TestJobLifecycle = JobLifecycle.TestCase
