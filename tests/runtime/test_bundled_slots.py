"""The bundled ECG model's channel slot: trained on CinC 2017 (lead `ECG`) and MIT-BIH (lead
`MLII`) merged under the slot ``ECG|MLII``, its checkpoint records that slot, and ``predict``
reads ``ECG`` from a CinC record and ``MLII`` from an MIT-BIH one (never V1)."""

from __future__ import annotations

import json

import numpy as np
from results_fixtures import invoke_wide, save_classifier, tiny_classifier

from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.data.store.merge import merge_stores
from cwtmae_cli.train.pretrain import preprocessing_meta

NAMES = ["N", "A", "O", "~"]


def test_a_model_trained_on_the_merged_store_records_both_names(tmp_path) -> None:
    parts = []
    for name, channel in (("cinc", "ECG"), ("mit", "MLII")):
        parts.append(write_store_from_arrays(
            tmp_path / f"{name}.zarr", np.zeros((2, 1, 3000)), np.array([0, 1]), np.array([0, 1]),
            np.array([0.0, 0.0]), fs_hz=300.0, window_s=10.0, channels=[channel],
            label_names=NAMES, subjects=["a", "b"], split=np.zeros(2, np.int8)))
    store = merge_stores(parts, tmp_path / "m.zarr", prefixes=["cinc", "mit"],
                         channels=["ECG|MLII"])
    dataset = WindowDataset(store, splits=(0,), labelled_only=True)
    pre = preprocessing_meta(dataset, {"cwt_scales": 32})
    assert pre["channels"] == ["ECG|MLII"]
    assert pre["channel_alternatives"] == ["ECG", "MLII"]


def _read(tmp_path, record, slot: str, name: str):
    ckpt = save_classifier(tmp_path / f"ckpt-{name}", tiny_classifier(4), NAMES, fs_hz=300.0,
                           window_s=10.0, channel=slot)
    out = tmp_path / f"out-{name}"
    result = invoke_wide(["predict", str(record), "--checkpoint", str(ckpt), "--out", str(out),
                          "--device", "cpu"])
    return result, out


def test_predict_reads_ecg_from_cinc_and_mlii_from_mitdb(shared_data, tmp_path) -> None:
    for record, stem, lead in ((shared_data / "cinc2017" / "A00001.hea", "A00001", "ECG"),
                               (shared_data / "mitdb" / "106.hea", "106", "MLII")):
        result, out = _read(tmp_path, record, "ECG|MLII", stem)
        assert result.exit_code == 0, result.output
        sidecar = json.loads((out / f"{stem}_pred.json").read_text())
        assert sidecar["channels"] == [{"requested": "ECG|MLII", "name_in_file": lead}]


def test_a_cinc_only_slot_refuses_an_mitdb_record_in_one_line(shared_data, tmp_path) -> None:
    result, out = _read(tmp_path, shared_data / "mitdb" / "106.hea", "ECG", "only")
    assert result.exit_code == 1
    assert "no channel `ECG`" in result.output and "MLII" in result.output
    assert not list(out.glob("*_pred.tsv"))
