"""``predict`` cuts new files with the window policy of the checkpoint's store (CinC 2017)."""

from __future__ import annotations

import numpy as np
import pytest
from results_fixtures import preprocessing, tiny_classifier

from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.errors import DataError
from cwtmae_cli.evaluate.prediction import Predictor
from cwtmae_cli.runtime.checkpoint import save_checkpoint

COVER = {"window_s": 10.0, "stride_s": 5.0, "cover": True, "short_recordings": "padded"}


def _checkpoint(path, policy: dict | None):
    model = tiny_classifier(4, n_samples=3000)
    pre = preprocessing(300.0, 10.0, "ECG", model.config["cwt_scales"])
    if policy is not None:
        pre["window_policy"] = policy
    meta = {
        "kind": "classifier",
        "model_config": model.config,
        "preprocessing": pre,
        "label_names": ["N", "A", "O", "~"],
    }
    return save_checkpoint(path, model, meta)


@pytest.fixture(scope="module")
def covering(tmp_path_factory):
    return Predictor(_checkpoint(tmp_path_factory.mktemp("c") / "c", COVER), device="cpu")


def test_covering_policy_pads_short_and_covers_long_records(shared_data, covering):
    folder = shared_data / "cinc2017"
    windows, onset_s, quality, _ = covering.windows(folder / "A01364.mat")  # 9.32 s
    assert windows.shape == (1, 3000) and onset_s.tolist() == [0.0] and quality == [None]
    signal = read_recording(folder / "A01364").signal[0]
    np.testing.assert_allclose(windows[0, 2796:], np.median(signal), atol=1e-6)
    windows, onset_s, _, _ = covering.windows(folder / "A02826.mat")  # 18,128 samples
    assert onset_s[:-1].tolist() == [5.0 * i for i in range(11)]
    assert onset_s[-1] == pytest.approx((18128 - 3000) / 300)
    table = covering.predict_file(folder / "A01364")
    assert table.stride_s == 5.0 and len(table.onset_s) == 1


def test_stride_option_keeps_the_policy_cover(shared_data, tmp_path):
    ckpt = _checkpoint(tmp_path / "c", COVER)
    predictor = Predictor(ckpt, device="cpu", stride_s=10.0)
    _, onset_s, _, _ = predictor.windows(shared_data / "cinc2017" / "A02826")
    assert onset_s.tolist() == pytest.approx([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 50.42667])


def test_checkpoint_without_a_policy_keeps_the_plain_grid(shared_data, tmp_path):
    predictor = Predictor(_checkpoint(tmp_path / "c", None), device="cpu")
    _, onset_s, _, _ = predictor.windows(shared_data / "cinc2017" / "A02826")
    assert onset_s.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    with pytest.raises(DataError, match="shorter than one 10-s window"):
        predictor.windows(shared_data / "cinc2017" / "A01364")
