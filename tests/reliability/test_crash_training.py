"""SIGKILL ``pretrain`` and ``finetune`` at >= 10 seeded random moments, ``--resume`` each time:
every checkpoint left behind opens, and the finished run is bit-identical to an uninterrupted one.

Tiny model, 12 steps of batch 2, a checkpoint every step (so many kills land inside a
checkpoint write), the metrics logged every step (so every logged value can be compared).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from crash_checks import KILLS_SURVIVED, check_run_folder, kill_loop, remove, strip_times
from forked import run_forked
from safetensors.torch import load_file

from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.train.rundir import RunDir

pytestmark = pytest.mark.slow

N_KILLS = 10
STEPS = 12
COMMON = [
    "--model", "tiny", "--steps", str(STEPS), "--batch-size", "2", "--device", "cpu",
    "--save-every", "1", "--seed", "3", "--lr", "1e-3",
]  # fmt: skip


def _finetune_args(pretrained: Path) -> list[str]:
    return [
        "finetune", "--pretrained", str(pretrained), "--head", "cot", "--eval-every", "3",
        *COMMON[2:],
    ]  # fmt: skip


def _writing(run: Path) -> Callable[[], bool]:
    """Holds once a checkpoint temp folder appears that was not there at the first call."""
    seen: set[str] | None = None

    def test() -> bool:
        nonlocal seen
        temps = {p.name for p in (run / "checkpoints").glob(".step-*.tmp-*")}
        if seen is None:
            seen = temps
        return bool(temps - seen)

    test.__doc__ = "writing a checkpoint"
    return test


def _same_weights(a: Path, b: Path) -> None:
    want, got = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert want.keys() == got.keys()
    for key in want:
        assert want[key].equal(got[key]), f"{key} differs from the uninterrupted run"


def _crash_and_compare(tmp_path: Path, args: list[str], seed: int, command: str) -> Path:
    tmp_path.mkdir(exist_ok=True)
    config = tmp_path / "log_every_step.toml"
    config.write_text("log_every = 1\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    reference = tmp_path / "reference"
    first = reference / "checkpoints" / "step-0000001"
    ref = run_forked(
        [*args, "--config", str(config), "--out", str(reference)],
        logs / "reference.log",
        watch=first,
    )
    assert ref.status == 0, ref.log[-3000:]
    print(f"reference run: {ref.elapsed_s:.2f} s, first checkpoint after {ref.seen_s} s")
    run = tmp_path / "killed"

    def start(resume: bool) -> list[str]:
        if resume:
            return [*args, "--resume", str(run)]
        remove(run)  # killed before its first checkpoint: nothing to resume, start again
        return [*args, "--config", str(config), "--out", str(run)]

    # Kill points: one during start-up, the others at a random moment of a random step k (after
    # checkpoint k appeared) in increasing step order; every other one instead within 10 ms of
    # the next checkpoint's temporary folder appearing, i.e. in the middle of writing it.
    rng = random.Random(seed)
    step_s = (ref.elapsed_s - (ref.seen_s or 0.0)) / (STEPS - 1)
    targets = sorted(rng.sample(range(1, STEPS), N_KILLS - 1))
    points: list[tuple[Path | Callable[[], bool] | None, float]] = [
        (None, rng.uniform(0, ref.seen_s or 1.0))
    ]
    for i, k in enumerate(targets):
        if i % 2:
            points.append((_writing(run), rng.uniform(0, 0.01)))
        else:
            points.append((run / "checkpoints" / f"step-{k:07d}", rng.uniform(0, 1.5 * step_s)))
    counts, _ = kill_loop(
        start,
        is_resumable=lambda: check_run_folder(run)["resumable"],
        restart=lambda: remove(run),
        after_kill=lambda: check_run_folder(run),
        kill_points=points,
        logs=logs,
    )
    KILLS_SURVIVED[command] = counts
    print(f"{command}: {counts['kills']} SIGKILLs survived: {counts}")
    assert counts["kills"] >= N_KILLS
    assert (run / "FINISHED").exists()
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    final = f"checkpoints/step-{STEPS:07d}"
    _same_weights(reference / final, run / final)
    assert strip_times(RunDir(run).read_metrics()) == strip_times(RunDir(reference).read_metrics())
    return run


def test_pretrain_survives_random_sigkills(tmp_path, sine_store) -> None:
    args = ["pretrain", "--data", str(sine_store), *COMMON]
    _crash_and_compare(tmp_path, args, seed=11, command="pretrain")


def test_finetune_survives_random_sigkills(tmp_path, sine_store) -> None:
    pretrained = tmp_path / "pretrained"
    outcome = run_forked(
        ["pretrain", "--data", str(sine_store), *COMMON[:3], "2", *COMMON[4:], "--out",
         str(pretrained)],
        tmp_path / "pretrain.log",
    )  # fmt: skip
    assert outcome.status == 0, outcome.log[-3000:]
    args = [*_finetune_args(pretrained), "--data", str(sine_store)]
    run = _crash_and_compare(tmp_path / "ft", args, seed=12, command="finetune")
    reference = tmp_path / "ft" / "reference"
    best = read_meta(run / "checkpoints" / "best")
    assert best["step"] == read_meta(reference / "checkpoints" / "best")["step"]
    _same_weights(reference / "checkpoints" / "best", run / "checkpoints" / "best")
