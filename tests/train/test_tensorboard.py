"""TensorBoard event files: which numbers of a metrics line become scalars, and what a run does
when the optional ``tensorboard`` package is absent."""

from __future__ import annotations

import sys

from cwtmae_cli.train.tensorboard import TensorBoardLog, scalars_of, tensorboard_missing


def test_a_metrics_line_becomes_kind_prefixed_scalars() -> None:
    record = {
        "kind": "val",
        "step": 20,
        "epoch": 1.25,
        "best": True,
        "macro_f1": 0.5,
        "n_windows": 12,
        "per_class": {"AF": {"f1": 0.25, "support": 3}, "N": {"f1": None}},
        "classes_never_predicted": ["AF"],
        "single_class_answer": False,
    }
    assert scalars_of(record) == {
        "val/macro_f1": 0.5,
        "val/n_windows": 12.0,
        "val/per_class/AF/f1": 0.25,
        "val/per_class/AF/support": 3.0,
    }


def test_without_tensorboard_the_run_is_told_and_no_writer_opens(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import -> ImportError
    line = tensorboard_missing()
    assert line is not None and "tensorboard is not installed" in line
    assert "cwtmae[tensorboard]" in line and "\n" not in line
    assert TensorBoardLog.open(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
