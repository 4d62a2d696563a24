"""``cwtmae evaluate``: exact metrics in the tables and the JSON, defaults, and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from results_fixtures import (
    SLEEP_LABELS,
    finished_finetune_run,
    save_classifier,
    save_mae,
    tiny_classifier,
    write_wfdb_record,
)
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.model import standardize_windows

runner = CliRunner()
FS_HZ, WINDOW_S, N_SAMPLES = 100.0, 3.0, 300
CHANNELS = ["EEG Fpz-Cz", "EEG Pz-Oz"]
PER_RECORDING = 15


def _signals(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    t_s = np.arange(N_SAMPLES) / FS_HZ
    freq = 1.0 + 4.0 * labels[:, None] + rng.uniform(0, 3, size=(len(labels), 1))  # (N, 1)
    eeg = 40 * np.sin(2 * np.pi * freq * t_s) + rng.normal(0, 10, size=(len(labels), N_SAMPLES))
    other = rng.normal(0, 1, size=eeg.shape)
    return np.stack([other, eeg], axis=1).astype(np.float32)  # (N, 2, L): model reads channel 1


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A store (recordings 0-2 in test, 3 in val) and a classifier whose outputs its weights fix.

    The head's bias is set so the logits are centred on the test windows, which spreads the
    random model's predictions over several classes (the expected values are still computed from
    the model's own outputs below).
    """
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)
    n_recordings = 4
    n_windows = n_recordings * PER_RECORDING
    labels = rng.integers(0, 5, n_windows)
    labels[5] = -1  # unlabelled windows are not scored
    recording = np.repeat(np.arange(n_recordings), PER_RECORDING).astype(np.int32)
    split = np.where(recording < 3, 2, 1).astype(np.int8)
    signals = _signals(rng, np.maximum(labels, 0))
    store = write_store_from_arrays(
        root / "workdir" / "stores" / "syn.zarr",
        signals,
        labels,
        recording,
        np.tile(np.arange(PER_RECORDING) * WINDOW_S, n_recordings),
        fs_hz=FS_HZ,
        window_s=WINDOW_S,
        channels=CHANNELS,
        label_names=SLEEP_LABELS,
        subjects=["a", "b", "c", "d"],
        recording_ids=["rec-a", "rec-b", "rec-c", "rec-d"],
        split=split,
    )
    model = tiny_classifier(5, N_SAMPLES, seed=3).eval()
    test = (split == 2) & (labels >= 0)
    x = standardize_windows(torch.from_numpy(signals[test, 1]))  # (N_test, L)
    with torch.no_grad():
        model.head.fc.bias -= model(x).mean(dim=0)
        y_pred = model(x).argmax(dim=1).numpy()
    ckpt = save_classifier(root / "ckpt", model, SLEEP_LABELS, FS_HZ, WINDOW_S, "Pz-Oz")
    return {
        "root": root,
        "store": store,
        "ckpt": ckpt,
        "model": model,
        "y_true": labels[test],
        "y_pred": y_pred,
        "recording": recording[test],
    }


def _invoke(args: list[str]):
    return runner.invoke(app, args, env={"COLUMNS": "200", "CWTMAE_HOME": None})


def _row(stdout: str, first_cell: str) -> list[str]:
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] == first_cell:
            return cells[2:-1]
    raise AssertionError(f"no table row `{first_cell}` in:\n{stdout}")


def test_metrics_are_exactly_sklearns_in_tables_and_json(setup, tmp_path):
    y_true, y_pred = setup["y_true"], setup["y_pred"]
    assert len(set(y_pred.tolist())) >= 3  # the fixture model really discriminates
    json_path, plot_path = tmp_path / "m.json", tmp_path / "cm.png"
    result = _invoke(
        [
            "evaluate",
            "--checkpoint",
            str(setup["ckpt"]),
            "--data",
            str(setup["store"]),
            "--json",
            str(json_path),
            "--plot",
            str(plot_path),
            "--per-recording",
            "--device",
            "cpu",
            "--batch-size",
            "7",
        ]
    )
    assert result.exit_code == 0, result.output
    labels = list(range(5))
    expected = {
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "cohen_kappa": cohen_kappa_score(y_true, y_pred, labels=labels),
    }
    doc = json.loads(json_path.read_text())
    assert doc["summary"]["n_windows"] == len(y_true) == 3 * PER_RECORDING - 1
    for key, value in expected.items():
        assert doc["summary"][key] == value, key
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    assert doc["confusion_matrix"]["counts"] == counts.tolist()
    precision, recall, _, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=np.nan
    )
    _, _, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    undefined = [None if np.isnan(v) else v for v in (*precision, *recall)]
    for k, row in enumerate(doc["per_class"]):
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == (
            undefined[k],
            undefined[len(labels) + k],
            f1[k],
            support[k],
        )
    out = result.stdout
    assert _row(out, "accuracy") == [f"{expected['accuracy']:.4f}"]
    assert _row(out, "balanced accuracy") == [f"{expected['balanced_accuracy']:.4f}"]
    assert _row(out, "macro-F1") == [f"{expected['macro_f1']:.4f}"]
    assert _row(out, "Cohen's kappa") == [f"{expected['cohen_kappa']:.4f}"]
    for k, name in enumerate(SLEEP_LABELS):
        assert _row(out, name)[:4] == [
            f"{precision[k]:.4f}",
            f"{recall[k]:.4f}",
            f"{f1[k]:.4f}",
            str(support[k]),
        ]
    # Per recording: in the table and the JSON, in store order.
    rec_rows = doc["per_recording"]
    assert [r["recording"] for r in rec_rows] == ["rec-a", "rec-b", "rec-c"]
    sel = setup["recording"] == 1
    assert rec_rows[1]["accuracy"] == accuracy_score(y_true[sel], y_pred[sel])
    assert _row(out, "rec-b")[:2] == [str(sel.sum()), f"{rec_rows[1]['accuracy']:.4f}"]
    assert plot_path.read_bytes()[:4] == b"\x89PNG"


def test_json_dash_prints_only_json(setup):
    result = _invoke(
        [
            "evaluate",
            "--checkpoint",
            str(setup["ckpt"]),
            "--data",
            str(setup["store"]),
            "--split",
            "val",
            "--json",
            "-",
            "--device",
            "cpu",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["split"] == "val" and doc["summary"]["n_windows"] == PER_RECORDING
    assert doc["channel"] == "EEG Pz-Oz" and doc["label_names"] == SLEEP_LABELS
    # What was scored is named: the checkpoint with its weights' sha256, the store, the split.
    import hashlib

    weights = (setup["ckpt"] / "model.safetensors").read_bytes()
    assert doc["checkpoint"] == str(setup["ckpt"].resolve())
    assert doc["checkpoint_weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert doc["store"] == str(setup["store"].resolve())


def test_defaults_are_picked_and_printed(setup):
    workdir = setup["root"] / "workdir"
    finished_finetune_run(
        workdir, setup["model"], SLEEP_LABELS, fs_hz=FS_HZ, window_s=WINDOW_S, channel="EEG Pz-Oz"
    )
    result = _invoke(["evaluate", "--workdir", str(workdir), "--split", "val", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "using checkpoint" in result.stderr and "checkpoints/best" in result.stderr
    assert "using store" in result.stderr and "syn.zarr" in result.stderr
    assert _row(result.stdout, "accuracy")


def test_no_finetune_run_is_a_clear_error(tmp_path):
    result = _invoke(["evaluate", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no finished fine-tuning run" in result.stderr


def test_mae_checkpoint_is_refused(setup, tmp_path):
    mae = save_mae(tmp_path / "mae", FS_HZ, WINDOW_S)
    result = _invoke(["evaluate", "--checkpoint", str(mae), "--data", str(setup["store"])])
    assert result.exit_code == 1 and "pretraining (MAE) checkpoint" in result.stderr


def test_store_with_other_preprocessing_is_refused(setup, tmp_path):
    other = save_classifier(tmp_path / "c200", setup["model"], SLEEP_LABELS, 200.0, 1.5, "Pz-Oz")
    result = _invoke(["evaluate", "--checkpoint", str(other), "--data", str(setup["store"])])
    assert result.exit_code == 1
    assert "fs_hz is 100 in the store but 200.0 in the checkpoint" in result.stderr
    wrong_channel = save_classifier(
        tmp_path / "ceog", setup["model"], SLEEP_LABELS, FS_HZ, WINDOW_S, "EOG horizontal"
    )
    result = _invoke(
        ["evaluate", "--checkpoint", str(wrong_channel), "--data", str(setup["store"])]
    )
    assert result.exit_code == 1 and "EOG horizontal" in result.stderr


def test_unknown_split_is_a_usage_error(setup):
    result = _invoke(
        [
            "evaluate",
            "--checkpoint",
            str(setup["ckpt"]),
            "--data",
            str(setup["store"]),
            "--split",
            "holdout",
        ]
    )
    assert result.exit_code == 2 and "unknown split" in result.stderr


def test_unwritable_json_path_fails_before_the_work(setup, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _invoke(
        [
            "evaluate",
            "--checkpoint",
            str(tmp_path / "missing"),
            "--data",
            str(setup["store"]),
            "--json",
            str(blocker / "m.json"),
        ]
    )
    assert result.exit_code == 1 and f"cannot write {blocker / 'm.json'}" in result.stderr


def test_a_recording_read_from_another_lead_is_said(tmp_path):
    from cwtmae_cli.data.prepare import prepare_store
    from cwtmae_cli.data.recipes.load import load_recipe
    from cwtmae_cli.data.split import SPLIT_NAMES
    from cwtmae_cli.data.store.schema import open_store

    # no MLII: mitdb-af reads V5
    write_wfdb_record(tmp_path / "src", "r102", ["V5", "V2"], 70, seed=len("r102"), rhythm="(N")
    store = tmp_path / "s.zarr"
    prepare_store(load_recipe("mitdb-af"), tmp_path / "src", store)
    split = SPLIT_NAMES[open_store(store).recordings[0]["split"]]
    ckpt = save_classifier(tmp_path / "ckpt", tiny_classifier(2), ["non-AF", "AF"], channel="MLII")
    split = "val" if split == "validation" else split
    args = ["evaluate", "--checkpoint", str(ckpt), "--data", str(store), "--device", "cpu"]
    result = _invoke([*args, "--split", split, "--json", "-"])
    assert result.exit_code == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning == [
        f"warning: 1 {split} recording of the store was read from another channel than the "
        "checkpoint's MLII: r102 (V5); the metrics include its windows"
    ]
    doc = json.loads(result.stdout)
    assert doc["channel_mismatches"] == [{"id": "r102", "channel": "V5"}]
    assert doc["checkpoint_channel"] == "MLII"


def test_a_class_absent_from_the_split_is_flagged_beside_macro_f1(setup, tmp_path):
    """The test split holds no REM window: macro-F1 still averages the model's five classes
    (REM's F1 is 0 by convention), and evaluate says so on stdout, stderr and in the JSON."""
    rng = np.random.default_rng(1)
    labels = np.tile(np.arange(4), 5)  # (20,): W, N1, N2, N3 only
    store = write_store_from_arrays(
        tmp_path / "no-rem.zarr",
        _signals(rng, labels),
        labels,
        np.zeros(20, np.int32),
        np.arange(20) * WINDOW_S,
        fs_hz=FS_HZ,
        window_s=WINDOW_S,
        channels=CHANNELS,
        label_names=SLEEP_LABELS,
        subjects=["a"],
        split=np.full(20, 2, np.int8),
    )
    args = ["evaluate", "--checkpoint", str(setup["ckpt"]), "--data", str(store)]
    result = _invoke([*args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    doc = json.loads(_invoke([*args, "--device", "cpu", "--json", "-"]).stdout)
    assert doc["classes_without_support"] == ["REM"]
    present = [row["f1"] for row in doc["per_class"] if row["label"] != "REM"]
    assert doc["summary"]["macro_f1_supported"] == pytest.approx(np.mean(present))
    assert doc["summary"]["macro_f1"] == pytest.approx(np.sum(present) / 5)
    supported = f"{doc['summary']['macro_f1_supported']:.4f}"
    assert _row(result.stdout, "macro-F1, classes present") == [supported]
    assert "no REM window in the test split: macro-F1 counts its F1 as 0" in result.stdout
    assert "warning: the test split has no REM window" in result.stderr


def test_split_all_scores_every_window_of_the_store(setup):
    """External validation: ``--split all`` scores the test and the val recordings alike (the
    store's split column means nothing for a model trained elsewhere) and says how many."""
    args = ["evaluate", "--checkpoint", str(setup["ckpt"]), "--data", str(setup["store"])]
    doc = json.loads(_invoke([*args, "--split", "all", "--device", "cpu", "--json", "-"]).stdout)
    test = json.loads(_invoke([*args, "--split", "test", "--device", "cpu", "--json", "-"]).stdout)
    val = json.loads(_invoke([*args, "--split", "val", "--device", "cpu", "--json", "-"]).stdout)
    n_labelled = 4 * PER_RECORDING - 1  # one window is unlabelled
    assert doc["split"] == "all" and doc["summary"]["n_windows"] == n_labelled
    assert doc["n_recordings"] == 4
    counts = sum(np.array(d["confusion_matrix"]["counts"]) for d in (test, val))
    assert doc["confusion_matrix"]["counts"] == counts.tolist()
    result = _invoke([*args, "--split", "all", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert f"split: all ({n_labelled} windows from 4 recordings)" in result.stdout


def test_split_all_flags_a_missing_class_in_the_store(setup, tmp_path):
    rng = np.random.default_rng(2)
    labels = np.tile(np.arange(4), 5)  # (20,): no REM window anywhere
    store = write_store_from_arrays(
        tmp_path / "no-rem-all.zarr",
        _signals(rng, labels),
        labels,
        np.repeat(np.arange(2), 10).astype(np.int32),
        np.tile(np.arange(10) * WINDOW_S, 2),
        fs_hz=FS_HZ,
        window_s=WINDOW_S,
        channels=CHANNELS,
        label_names=SLEEP_LABELS,
        subjects=["a", "b"],
        split=np.repeat(np.array([0, 1], np.int8), 10),  # train and val: no test split at all
    )
    args = ["evaluate", "--checkpoint", str(setup["ckpt"]), "--data", str(store)]
    result = _invoke([*args, "--split", "all", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "split: all (20 windows from 2 recordings)" in result.stdout
    assert "no REM window in the store: macro-F1 counts its F1 as 0" in result.stdout
    assert "warning: the store has no REM window" in result.stderr
