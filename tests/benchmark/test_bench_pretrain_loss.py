"""benchmarks/bench_pretrain_loss.py: its settings with model overrides, the frozen-feature probe
and the features it reads (the figures of docs/recipes.md rest on them)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cwtmae_cli.model import build_mae, standardize_windows

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import bench_pretrain_loss as bench  # noqa: E402


def test_a_setting_carries_typed_model_overrides() -> None:
    setting = bench.parse_setting("tiny:2e-3:0.1:32:200:time:mask_ratio=0.5,patch_size_time=50")
    assert setting == {"preset": "tiny", "lr": 2e-3, "warmup": 0.1, "batch": 32, "steps": 200,
                       "mask_mode": "time",
                       "overrides": {"mask_ratio": 0.5, "patch_size_time": 50}}
    assert isinstance(setting["overrides"]["patch_size_time"], int)
    assert bench.parse_setting("tiny:3e-4:0.05:64:150:random")["overrides"] == {}


@pytest.mark.parametrize("text", ["tiny:2e-3:0.1:32:200", "tiny:2e-3:0.1:32:200:random:mask_ratio",
                                  "tiny:2e-3:0.1:32:200:random:=3"])
def test_a_malformed_setting_is_refused(text) -> None:
    with pytest.raises(SystemExit):
        bench.parse_setting(text)


def test_the_probe_scores_held_out_windows_and_the_named_classes_only() -> None:
    rng = np.random.default_rng(0)
    names = ["N", "A", "O", "~"]

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 4, n)
        x = rng.normal(size=(n, 6))
        x[:, 0] += 4.0 * (y == 1)  # A and O are separable, N and ~ are not told apart
        x[:, 1] += 4.0 * (y == 2)
        return x, y

    (x_fit, y_fit), (x_test, y_test) = split(400), split(400)
    scores = bench.probe_scores((x_fit, x_test), (y_fit, y_test), names, ["A", "O"])
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced",
                                                               max_iter=2000))
    y_hat = probe.fit(x_fit, y_fit).predict(x_test)
    per_class = f1_score(y_test, y_hat, labels=[0, 1, 2, 3], average=None)
    assert scores["score"] == pytest.approx(per_class[[1, 2]].mean())
    assert scores["macro_f1"] == pytest.approx(per_class.mean())
    assert scores["score"] > 0.9 > scores["macro_f1"]
    assert "score" not in bench.probe_scores((x_fit, x_test), (y_fit, y_test), names, [])


def test_features_are_the_unmasked_mean_token_then_cls() -> None:
    torch.manual_seed(0)
    model = build_mae("tiny")
    x = standardize_windows(torch.randn(3, 3000))
    first = bench.encoder_features(model, x, batch=2)
    assert model.training  # handed back in training mode
    np.testing.assert_allclose(first, bench.encoder_features(model, x, batch=3),
                               rtol=1e-5, atol=1e-6)  # no random mask
    with torch.no_grad():
        model.eval()
        tokens = model.encoder(model.encoder.embed(model.encoder.images(x)))  # (3, 1 + N, D)
    expected = torch.cat([tokens[:, 1:].mean(dim=1), tokens[:, 0]], dim=1).numpy()
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-6)


class _Windows:
    """The two members of a WindowDataset that training reads."""

    def __init__(self, n: int) -> None:
        self.x = torch.randn(n, 3000)

    def __len__(self) -> int:
        return self.x.shape[0]

    def get_batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[positions], torch.zeros(len(positions), dtype=torch.int64)


def test_training_builds_the_model_with_the_overrides_and_moves_it() -> None:
    setting = bench.parse_setting("tiny:2e-3:0.1:2:2:random:mask_ratio=0.5,time_loss_weight=3")
    x_eval = standardize_windows(torch.randn(2, 3000))
    out = bench.train(setting, _Windows(4), x_eval, seed=0)
    assert out["config"]["mask_ratio"] == 0.5
    assert out["config"]["time_loss_weight"] == 3
    assert out["config"]["mask_mode"] == "random"
    assert [step for step, _ in out["curve"]] == [1, 2]
    assert out["curve"][-1][1]["time"] != out["before"]["time"]
    assert out["after"] is None  # no probe asked for
