"""Spawned ranks over gloo: results come back, and a failing rank ends the run quickly."""

from __future__ import annotations

import time

import pytest
from stand_ins import failing_rank_worker, sum_ranks_worker

from cwtmae_cli.errors import DataError, TrainingError
from cwtmae_cli.train.launch import launch

pytestmark = pytest.mark.slow


def test_two_gloo_ranks_reduce_and_report_through_rank_zero() -> None:
    seen = []
    result = launch(
        sum_ranks_worker,
        {"x": 1},
        gpus=2,
        device_name="cpu",
        timeout_s=60,
        events=lambda kind, payload: seen.append((kind, payload)),
    )
    assert result == {"total": 3.0, "world": 2, "plan": {"x": 1}}
    assert seen == [("step", {"rank": 0, "world": 2})]


@pytest.mark.parametrize("how", ["raise", "sigkill"])
def test_a_failing_rank_stops_the_run_with_a_clear_error(how) -> None:
    start = time.monotonic()
    expected = DataError if how == "raise" else TrainingError
    match = "could not read its shard" if how == "raise" else "rank 1 was killed by signal 9"
    with pytest.raises(expected, match=match):
        launch(failing_rank_worker, {"how": how}, gpus=2, device_name="cpu", timeout_s=300)
    assert time.monotonic() - start < 60  # far below the collective timeout: no hang
