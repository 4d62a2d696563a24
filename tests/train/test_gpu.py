"""The CUDA paths (bf16 autocast, NCCL): run where a GPU is lent (``pytest -m gpu``)."""

from __future__ import annotations

import pytest
import torch
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.train.rundir import RunDir

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.mark.parametrize("gpus", [1, 2])
def test_pretrain_then_finetune_on_cuda(tmp_path, gpus) -> None:
    if gpus > torch.cuda.device_count():
        pytest.skip(f"needs {gpus} GPUs")
    store = write_sine_store(tmp_path / "sine.zarr", n_per_class=16)
    common = ["--data", str(store), "--device", "cuda", "--gpus", str(gpus), "--batch-size", "8"]
    runner = CliRunner()
    pre = tmp_path / "pre"
    result = runner.invoke(app, ["pretrain", "--model", "tiny", "--steps", "6", *common,
                                 "--out", str(pre)])
    assert result.exit_code == 0, result.output
    losses = [r["loss"] for r in RunDir(pre).read_metrics() if r["kind"] == "train"]
    assert losses and all(loss == loss for loss in losses)  # finite under bf16
    result = runner.invoke(app, ["finetune", "--pretrained", str(pre), "--steps", "30",
                                 "--lr", "2e-3", *common, "--out", str(tmp_path / "ft")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ft" / "FINISHED").exists()
