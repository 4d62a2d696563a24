"""Batched inference: same probabilities whatever the batch size, never more than one batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from results_fixtures import tiny_classifier

from cwtmae_cli.evaluate.inference import array_batches, predict_proba
from cwtmae_cli.model import standardize_windows

N_SAMPLES = 300


@pytest.fixture(scope="module")
def model():
    return tiny_classifier(3, n_samples=N_SAMPLES, seed=1)


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(0)
    t = np.arange(N_SAMPLES) / 100.0
    freqs = rng.uniform(1, 30, size=(11, 1))
    # Raw physical units with a large offset and gain: standardisation must remove them.
    return (500 + 80 * np.sin(2 * np.pi * freqs * t) + rng.normal(size=(11, N_SAMPLES))).astype(
        np.float32
    )


def test_matches_direct_forward_and_rows_sum_to_one(model, windows):
    probs = predict_proba(model, len(windows), array_batches(windows), batch_size=4)
    with torch.no_grad():
        model.eval()
        expected = torch.softmax(model(standardize_windows(torch.from_numpy(windows))), -1)
    assert probs.shape == (11, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_batch_size_does_not_change_results(model, windows):
    one = predict_proba(model, len(windows), array_batches(windows), batch_size=1)
    many = predict_proba(model, len(windows), array_batches(windows), batch_size=32)
    np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-6)


def test_fetches_one_bounded_batch_at_a_time_and_restores_mode(model, windows):
    seen: list[int] = []
    progress: list[tuple[int, int]] = []
    get = array_batches(windows)

    def spy(indices):
        seen.append(len(indices))
        return get(indices)

    model.train()
    predict_proba(
        model, len(windows), spy, batch_size=4, progress=lambda d, n: progress.append((d, n))
    )
    assert seen == [4, 4, 3] and progress[-1] == (11, 11)
    assert model.training  # put back as found
    model.eval()


def test_empty_input_and_bad_batch_size(model, windows):
    assert predict_proba(model, 0, array_batches(windows)).shape == (0, 3)
    with pytest.raises(ValueError):
        predict_proba(model, 3, array_batches(windows), batch_size=0)
