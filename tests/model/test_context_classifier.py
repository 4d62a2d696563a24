"""The context classifier: K windows through the shared encoder, missing ones left out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cwtmae_cli.errors import ConfigError, UsageError
from cwtmae_cli.model import TF_MAE_Classifier, preset_config, standardize_windows
from cwtmae_cli.model.context import (
    ContextClassifier,
    build_classifier,
    check_context_size,
    resolve_context,
)

L = 1000


def _model(context: int = 5) -> ContextClassifier:
    torch.manual_seed(0)
    config = preset_config("tiny", signal_len=L)
    model = ContextClassifier(None, num_classes=3, context=context, context_stride_s=10.0,
                              dropout=0.0, **config)
    torch.nn.init.normal_(model.context_out.weight, std=0.05)  # as after some training
    return model.eval()


def test_missing_neighbours_do_not_change_the_answer() -> None:
    model = _model()
    x = torch.randn(2, 5, 1, L)
    x[0, 0] = float("nan")
    x[1, 3:] = float("nan")
    with torch.no_grad():
        before = model(x)
        other = x.clone()
        other[0, 0] = 0.0  # a missing window filled with anything would change the answer
        garbage = model(other)
    assert before.shape == (2, 3) and torch.isfinite(before).all()
    assert not torch.allclose(before[0], garbage[0], atol=1e-6)
    assert torch.allclose(before[1], garbage[1], atol=1e-6)


def test_neighbours_matter_once_trained_and_not_at_init() -> None:
    model = _model()
    x = torch.randn(1, 5, 1, L)
    y = x.clone()
    y[0, 1] = torch.randn(1, L)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(y), atol=1e-6)
        torch.nn.init.zeros_(model.context_out.weight)
        # zero projection: exactly the single-window classifier on the centre window
        plain = TF_MAE_Classifier.forward(model, x[:, 2])
        assert torch.allclose(model(x), plain, atol=1e-6)
        assert torch.allclose(model(y), plain, atol=1e-6)


def test_backward_reaches_encoder_and_context() -> None:
    model = _model(3).train()
    x = torch.randn(4, 3, L)
    x[0, 0] = float("nan")
    model(x).sum().backward()
    assert model.encoder.patch_embed.proj.weight.grad is not None
    assert model.context_pos_embed.grad is not None
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_config_round_trip_and_k1_is_the_plain_classifier() -> None:
    model = _model(5)
    rebuilt = build_classifier(None, **model.config)
    assert isinstance(rebuilt, ContextClassifier) and rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    plain = build_classifier(None, **{**model.config, "context": 1})
    assert type(plain) is TF_MAE_Classifier and "context" not in plain.config
    assert plain(standardize_windows(torch.randn(2, L))).shape == (2, 3)


@pytest.mark.parametrize("bad", [0, -1, 2, 4])
def test_context_size_must_be_odd_and_positive(bad: int) -> None:
    with pytest.raises(UsageError, match="--context"):
        check_context_size(bad)
    with pytest.raises(ConfigError):
        ContextClassifier(None, 2, context=bad, context_stride_s=1.0,
                          **preset_config("tiny", signal_len=L))


def test_resolve_context_narrows_only() -> None:
    assert resolve_context({"context": 11}, None) == 11
    assert resolve_context({"context": 11}, 5) == 5
    assert resolve_context({}, None) == 1
    with pytest.raises(UsageError, match="at most 1"):
        resolve_context({}, 3)
    with pytest.raises(UsageError, match="odd number"):
        resolve_context({"context": 11}, 4)


def test_chunked_inference_equals_the_batch_forward() -> None:
    from cwtmae_cli.data.context import neighbour_table
    from cwtmae_cli.evaluate.inference import predict_proba_context

    model = _model(5)
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((9, L)).astype(np.float32)
    recording = np.array([0] * 6 + [1] * 3)
    onset = np.array([0, 1, 2, 4, 5, 6, 0, 1, 2])  # recording 0 has a gap at 3
    table = neighbour_table(recording, onset, 5, 1)
    x = torch.from_numpy(windows)[torch.from_numpy(table.clip(0))]  # (9, 5, L)
    x[torch.from_numpy(table < 0)] = float("nan")
    with torch.no_grad():
        expected = torch.softmax(model(standardize_windows(x.unsqueeze(2))), -1).numpy()
    get = lambda idx: torch.from_numpy(windows[idx])  # noqa: E731
    for batch_size in (1, 4, 9):
        probs = predict_proba_context(model, table, get, batch_size)
        np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_a_missing_neighbour_is_left_out_of_attention() -> None:
    model = _model(5)
    centre, embeddings = torch.randn(1, 10, 64), torch.randn(1, 5, 64)
    present = torch.tensor([[False, True, True, True, True]])
    with torch.no_grad():
        before = model.forward_context(centre, embeddings, present)
        model.context_pos_embed[0, 0] += torch.randn(64)  # what a missing slot would carry in
        after = model.forward_context(centre, embeddings, present)
        assert torch.allclose(before, after, atol=1e-6)
        all_there = model.forward_context(centre, embeddings, torch.ones(1, 5, dtype=torch.bool))
        assert not torch.allclose(before, all_there, atol=1e-6)


def test_classify_narrows_the_context_it_is_asked_for() -> None:
    from cwtmae_cli.evaluate.inference import classify

    model = _model(5)
    windows = np.random.default_rng(1).standard_normal((6, L)).astype(np.float32)
    get = lambda idx: torch.from_numpy(windows[idx])  # noqa: E731
    recording, start_s = np.zeros(6), np.arange(6) * 10.0  # the model's stride: 10 s
    full = classify(model, get, recording, start_s, fs_hz=100.0)
    alone = classify(model, get, recording, start_s, fs_hz=100.0, context=1)
    with torch.no_grad():  # K = 1 of a context model: the centre window with every neighbour out
        x = torch.full((6, 5, 1, L), float("nan"))
        x[:, 2, 0] = torch.from_numpy(windows)
        expected = torch.softmax(model(standardize_windows(x)), -1).numpy()
    np.testing.assert_allclose(alone, expected, atol=1e-5)
    assert not np.allclose(full, alone, atol=1e-4)
