"""--precision: how auto resolves, and that bf16 reaches training, validation and inference."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from stand_ins import FourValueWindows, LayeredNet  # noqa: E402

from cwtmae_cli.errors import UsageError  # noqa: E402
from cwtmae_cli.evaluate.inference import predict_proba  # noqa: E402
from cwtmae_cli.runtime import precision as prec  # noqa: E402
from cwtmae_cli.train.config import FinetuneConfig  # noqa: E402
from cwtmae_cli.train.distributed import DistContext  # noqa: E402
from cwtmae_cli.train.engine import Engine  # noqa: E402
from cwtmae_cli.train.job import TrainJob  # noqa: E402
from cwtmae_cli.train.validation import make_validate  # noqa: E402

CPU = torch.device("cpu")


class AutocastSpy(nn.Module):
    """LayeredNet that records, per call, the dtype its first linear layer computed in."""

    def __init__(self) -> None:
        super().__init__()
        self.net = LayeredNet()
        self.seen: list[torch.dtype] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(self.net.embed(x).dtype)
        return self.net(x)


class SpyObjective(nn.Module):
    def __init__(self, model: AutocastSpy) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        loss = nn.functional.cross_entropy(self.model(x).float(), y)
        return {"loss": loss}


def test_auto_is_fp32_on_this_cpu_and_names_are_checked() -> None:
    assert prec.resolve_precision("auto", CPU) == "fp32"  # bf16 measured slower on CPU
    assert prec.resolve_precision(" BF16 ", CPU) == "bf16"
    assert prec.resolve_precision("fp32", CPU) == "fp32"
    with pytest.raises(UsageError, match="unknown --precision `fp16`; use auto, bf16, fp32"):
        prec.resolve_precision("fp16", CPU)


def test_auto_picks_bf16_on_a_cpu_only_when_it_has_the_units_and_measured_faster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_units, without = tmp_path / "bf16", tmp_path / "plain"
    with_units.write_text("flags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n")
    without.write_text("flags\t\t: fpu sse2 avx512f\n")
    assert prec.cpu_has_bf16_units(with_units) and not prec.cpu_has_bf16_units(without)
    monkeypatch.setattr(prec, "cpu_has_bf16_units", lambda: True)
    assert prec.resolve_precision("auto", CPU) == "fp32"  # the units alone are not enough
    monkeypatch.setattr(prec, "CPU_BF16_MEASURED_FASTER", True)
    assert prec.resolve_precision("auto", CPU) == "bf16"
    monkeypatch.setattr(prec, "cpu_has_bf16_units", lambda: False)
    assert prec.resolve_precision("auto", CPU) == "fp32"


def test_a_checkpoint_runs_in_the_precision_it_was_trained_and_selected_in() -> None:
    trained_bf16 = {"run_config": {"precision": "bf16"}}
    assert prec.checkpoint_precision(trained_bf16, "auto", CPU) == "bf16"
    assert prec.checkpoint_precision(trained_bf16, "fp32", CPU) == "fp32"  # explicit wins
    assert prec.checkpoint_precision({"run_config": {}}, "auto", CPU) == "fp32"  # older ones
    with pytest.raises(ValueError, match="resolved"):
        prec.autocast(CPU, "auto")


@pytest.mark.parametrize(("precision", "dtype"), [("bf16", torch.bfloat16),
                                                  ("fp32", torch.float32)])
def test_training_steps_and_validation_run_the_network_in_the_chosen_precision(
    precision: str, dtype: torch.dtype
) -> None:
    torch.manual_seed(0)
    model = AutocastSpy()
    data = FourValueWindows()
    job = TrainJob(model=model, objective=SpyObjective(model), train_set=data, meta={},
                   validate=make_validate(data, 3, 8, precision), select_metric="macro_f1")
    config = FinetuneConfig(steps=2, batch_size=4, device="cpu", precision=precision)
    Engine(config, job, DistContext.single(CPU), run=None).fit()
    assert len(model.seen) == 2 + 2  # two steps, then validation's two batches at the end
    assert set(model.seen) == {dtype}


def test_inference_runs_the_network_in_bf16_and_returns_float32_probabilities() -> None:
    model = AutocastSpy()
    windows = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)

    def get_batch(indices: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(windows[indices])

    probs = predict_proba(model, 5, get_batch, batch_size=2, precision="bf16")
    assert set(model.seen) == {torch.bfloat16} and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    model.seen.clear()
    predict_proba(model, 5, get_batch, batch_size=2)
    assert set(model.seen) == {torch.float32}
