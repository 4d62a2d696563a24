"""``cwtmae export`` and the folders it writes: the hub layout, a card whose figures are the
checkpoint's own, a manifest that every use checks, and ``hf://`` names fetched through
``huggingface_hub`` (mocked here: no test touches the network)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
import yaml
from results_fixtures import save_classifier, save_mae, tiny_classifier
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.errors import CheckpointError, UsageError
from cwtmae_cli.runtime.checkpoint import resolve_checkpoint
from cwtmae_cli.runtime.hub import parse_hub_ref
from cwtmae_cli.runtime.loading import load_classifier
from cwtmae_cli.runtime.manifest import sha256_file

runner = CliRunner()
FILES = {"model.safetensors", "meta.json", "config.json", "README.md", "manifest.json"}
RECORDED = {"split": "val", "step": 40, "n_windows": 96, "accuracy": 0.8125,
            "balanced_accuracy": 0.75, "macro_f1": 0.6875, "cohen_kappa": 0.5}


@pytest.fixture(scope="module")
def classifier_ckpt(tmp_path_factory) -> Path:
    """A classifier checkpoint that recorded its validation, as a best checkpoint does."""
    path = save_classifier(tmp_path_factory.mktemp("ck") / "best", tiny_classifier(3),
                           ["W", "N", "R"])
    meta = json.loads((path / "meta.json").read_text())
    meta["metrics"] = RECORDED
    (path / "meta.json").write_text(json.dumps(meta))
    return path


@pytest.fixture(scope="module")
def exported(classifier_ckpt, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "hub-model"
    result = runner.invoke(app, ["export", str(classifier_ckpt), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "model.safetensors" in result.stdout and "wrote" in result.stderr
    return out


def _card(folder: Path) -> tuple[dict, str]:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    block, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(block), body


def test_the_folder_has_the_hub_layout_and_a_true_manifest(exported, classifier_ckpt) -> None:
    assert {p.name for p in exported.iterdir()} == FILES
    assert sha256_file(exported / "model.safetensors") == sha256_file(
        classifier_ckpt / "model.safetensors")
    manifest = json.loads((exported / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.safetensors", "meta.json", "config.json"}
    for name, entry in manifest["files"].items():
        assert entry == {"size": (exported / name).stat().st_size,
                         "sha256": sha256_file(exported / name)}, name
    config = json.loads((exported / "config.json").read_text())
    assert config["library_name"] == "cwtmae" and config["label_names"] == ["W", "N", "R"]
    assert config["architectures"] == ["TF_MAE_Classifier"] and config["kind"] == "classifier"
    assert not list(exported.parent.glob(".*tmp-*"))


def test_the_card_metadata_carries_the_recorded_figures_only(exported) -> None:
    meta, body = _card(exported)
    assert meta["library_name"] == "cwtmae" and "cwtmae" in meta["tags"]
    assert "eeg" in meta["tags"] and "time-series-classification" in meta["tags"]
    store = json.loads((exported / "meta.json").read_text())["store"]
    assert meta["datasets"] == [Path(store).name.removesuffix(".zarr")]
    assert meta["metrics"] == ["accuracy", "balanced_accuracy", "macro_f1", "cohen_kappa"]
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["split"] == "val"
    assert {m["type"]: m["value"] for m in result["metrics"]} == {
        k: RECORDED[k] for k in meta["metrics"]}
    assert "| macro_f1 | 0.6875 |" in body and "over 96 windows" in body
    assert "not a medical device" in body
    assert "selection figures, not a held-out" in body and "near chance" not in body


def test_a_card_says_when_kappa_is_near_chance(classifier_ckpt, tmp_path) -> None:
    ckpt = tmp_path / "best"
    shutil.copytree(classifier_ckpt, ckpt)
    meta = json.loads((ckpt / "meta.json").read_text())
    meta["metrics"] = {**RECORDED, "accuracy": 0.945, "balanced_accuracy": 0.5,
                       "cohen_kappa": -0.005}  # a model that answers the commonest class
    (ckpt / "meta.json").write_text(json.dumps(meta))
    out = tmp_path / "exported"
    assert runner.invoke(app, ["export", str(ckpt), "--out", str(out)]).exit_code == 0
    _, body = _card(out)
    assert "kappa -0.01 is near chance" in body and "share of the commonest class" in body


def test_a_checkpoint_without_an_evaluation_gets_no_figures(tmp_path) -> None:
    ckpt = save_mae(tmp_path / "mae")
    out = tmp_path / "exported"
    assert runner.invoke(app, ["export", str(ckpt), "--out", str(out)]).exit_code == 0
    meta, body = _card(out)
    assert "metrics" not in meta and "model-index" not in meta and "pretraining" in meta["tags"]
    assert "No evaluation was recorded" in body and "|" not in body


def test_the_exported_folder_is_a_checkpoint(exported, classifier_ckpt) -> None:
    model, meta = load_classifier(exported)
    original, _ = load_classifier(classifier_ckpt)
    for (key, a), b in zip(model.state_dict().items(), original.state_dict().values(),
                           strict=True):
        assert torch.equal(a, b), key
    assert meta["label_names"] == ["W", "N", "R"]
    result = runner.invoke(app, ["inspect", str(exported), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["kind"] == "classifier"


def test_an_exported_mae_is_taken_by_pretrained(tmp_path) -> None:
    from cwtmae_cli.model import TF_MAE_Classifier
    from cwtmae_cli.train.finetune import resolve_pretrained

    out = tmp_path / "mae-export"
    assert runner.invoke(app, ["export", str(save_mae(tmp_path / "m")), "--out", str(out)]
                         ).exit_code == 0
    assert resolve_pretrained(tmp_path, out) == out
    model = TF_MAE_Classifier(out, num_classes=2)
    assert model.config["num_classes"] == 2


def _swap_weights(folder: Path) -> None:
    """Other valid weights, meta.json's own sha256 made to agree: only the manifest can tell."""
    other = save_classifier(folder.parent / "other", tiny_classifier(3, seed=1), ["W", "N", "R"])
    shutil.copyfile(other / "model.safetensors", folder / "model.safetensors")
    meta = json.loads((folder / "meta.json").read_text())
    meta["weights"]["sha256"] = sha256_file(folder / "model.safetensors")
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def _flip_config_byte(folder: Path) -> None:
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(text.replace('"W"', '"X"', 1))


def _truncate_config(folder: Path) -> None:
    (folder / "config.json").write_text("{}")


def _drop_meta_from_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]["meta.json"]
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "model.safetensors").unlink(), "model.safetensors is missing"),
    (_swap_weights, "model.safetensors does not match the sha256"),
    (_flip_config_byte, "config.json does not match the sha256"),
    (_truncate_config, "config.json has 2 bytes but manifest.json says"),
    (_drop_meta_from_manifest, "does not list meta.json"),
])
def test_a_damaged_folder_is_refused_in_one_line(exported, tmp_path, damage, message) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(exported, folder)
    damage(folder)
    for args in (["inspect", str(folder)], ["evaluate", "--checkpoint", str(folder)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)
    with pytest.raises(CheckpointError, match=message):
        load_classifier(folder)


def test_export_writes_nothing_over_a_folder_and_nothing_from_a_corrupt_checkpoint(
    classifier_ckpt, exported, tmp_path
) -> None:
    before = {p.name: sha256_file(p) for p in exported.iterdir()}
    result = runner.invoke(app, ["export", str(classifier_ckpt), "--out", str(exported)])
    assert result.exit_code == 2 and "already exists and is not empty" in result.stderr
    assert {p.name: sha256_file(p) for p in exported.iterdir()} == before
    broken = tmp_path / "broken"
    shutil.copytree(classifier_ckpt, broken)
    data = bytearray((broken / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (broken / "model.safetensors").write_bytes(bytes(data))
    result = runner.invoke(app, ["export", str(broken), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "not exporting a corrupted checkpoint" in result.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))


@pytest.mark.parametrize("text, expected", [
    ("hf://owner/name", ("owner/name", None)),
    ("hf://owner/name@v1.2", ("owner/name", "v1.2")),
    (str(Path("hf://owner/my.model@main")), ("owner/my.model", "main")),  # Path folds //
])
def test_hub_names(text, expected) -> None:
    assert parse_hub_ref(text) == expected


def test_a_malformed_hub_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="hf://OWNER/NAME"):
        parse_hub_ref("hf://just-a-name")


@pytest.fixture()
def hub(monkeypatch, tmp_path):
    """huggingface_hub with snapshot_download answering from local folders: ``hub.repos``
    maps ``(repo, revision)`` to the folder "downloaded"; ``hub.calls`` records each call."""
    huggingface_hub = pytest.importorskip("huggingface_hub")

    class Hub:
        repos: dict = {}
        calls: list = []

    def snapshot_download(repo_id, revision=None, **kwargs):
        Hub.calls.append((repo_id, revision, kwargs.get("library_name")))
        if (repo_id, revision) not in Hub.repos:
            raise huggingface_hub.errors.LocalEntryNotFoundError("offline and not cached")
        return str(Hub.repos[(repo_id, revision)])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    Hub.repos, Hub.calls = {}, []
    return Hub


def test_an_hf_name_is_fetched_and_used(hub, exported) -> None:
    hub.repos[("lab/sleep", "v1")] = exported
    result = runner.invoke(app, ["inspect", "hf://lab/sleep@v1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["path"] == str(exported)
    assert hub.calls == [("lab/sleep", "v1", "cwtmae")]
    model, meta = load_classifier(Path("hf://lab/sleep@v1"))  # as --checkpoint passes it
    assert meta["label_names"] == ["W", "N", "R"]


def test_a_fetched_folder_is_verified(hub, exported, tmp_path) -> None:
    folder = tmp_path / "snapshot"
    shutil.copytree(exported, folder)
    _flip_config_byte(folder)
    hub.repos[("lab/sleep", None)] = folder
    result = runner.invoke(app, ["evaluate", "--checkpoint", "hf://lab/sleep"])
    assert result.exit_code == 1
    assert "config.json does not match the sha256" in result.stderr.strip()


def test_hub_folders_must_have_a_manifest(hub, classifier_ckpt) -> None:
    hub.repos[("lab/plain", None)] = classifier_ckpt  # a checkpoint uploaded as it is
    with pytest.raises(CheckpointError, match="has no manifest.json"):
        resolve_checkpoint("hf://lab/plain")


def test_offline_names_the_cache(hub, tmp_path) -> None:
    result = runner.invoke(app, ["evaluate", "--checkpoint", "hf://lab/absent"])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "hf://lab/absent" in line
    assert f"not in the cache {tmp_path / 'hf-cache'}" in line


def test_without_huggingface_hub_an_hf_name_is_one_line(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    result = runner.invoke(app, ["inspect", "hf://lab/sleep"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: hf:// models need the huggingface_hub package: pip install 'cwtmae[hub]'")
