"""Bundled models (``cwtmae_cli/models/<name>/``): written by ``write_bundle``, verified before
any use, their figures read from the ``evaluation.json`` the manifest vouches for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bundle_fixtures import low_and_good_bundles, make_bundle

from cwtmae_cli.errors import CheckpointError
from cwtmae_cli.runtime import bundled
from cwtmae_cli.runtime.bundled import EVALUATION_FILE, load_bundled
from cwtmae_cli.runtime.manifest import MANIFEST_FILE


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return low_and_good_bundles(tmp_path_factory.mktemp("bundles"))


def test_a_bundle_lists_its_figures_in_the_manifest_and_describes_itself(models_dir) -> None:
    manifest = json.loads((models_dir / "low" / MANIFEST_FILE).read_text())
    assert EVALUATION_FILE in manifest["files"]
    described = load_bundled("low", models_dir).describe()
    assert described["cv_folds"] == 3
    assert described["cv_challenge_score"]["mean"] == pytest.approx(0.35)
    assert described["challenge_score"] == pytest.approx(0.35)
    assert described["test_challenge_score"] == pytest.approx(0.33)
    assert described["classes"] == ["W", "N1", "N2", "N3", "REM"]
    assert (described["fs_hz"], described["window_s"]) == (100.0, 30.0)
    assert described["below_target"] is True
    assert load_bundled("good", models_dir).below_target is False


def test_the_card_leads_with_the_measured_figures(models_dir) -> None:
    card = (models_dir / "low" / "README.md").read_text()
    assert "0.350 ± 0.050, 3-fold cross-validated" in card
    assert "below the 0.80" in card and "Not a medical device" in card
    assert card.index("## Measured figures") < card.index("## Training")
    assert "below the 0.80" not in (models_dir / "good" / "README.md").read_text()


def test_without_folds_the_figure_is_the_test_splits_and_says_so(tmp_path) -> None:
    folder = make_bundle(tmp_path / "models", "nocv", [0.5, 0.5])
    evaluation = json.loads((folder / EVALUATION_FILE).read_text())
    evaluation["cross_validation"] = None
    bundled.write_bundle(tmp_path / ".ckpt-nocv", tmp_path / "models2" / "nocv", evaluation)
    model = load_bundled("nocv", tmp_path / "models2")
    assert model.headline == (0.5, "0.500 on the held-out test split (7 records; not "
                                   "cross-validated)")
    assert "Not run: k-fold cross-validation" in (model.folder / "README.md").read_text()


def test_an_unknown_name_lists_the_known_ones(models_dir) -> None:
    with pytest.raises(CheckpointError, match=r"no bundled model `nope`; the bundled models "
                                              r"are: good, low"):
        load_bundled("nope", models_dir)


@pytest.mark.parametrize("victim", [EVALUATION_FILE, "model.safetensors"])
def test_a_changed_file_is_refused(models_dir, tmp_path, victim) -> None:
    copy = tmp_path / "models"
    shutil.copytree(models_dir / "low", copy / "low")
    path = copy / "low" / victim
    if victim == EVALUATION_FILE:  # a better figure written in by hand, same size
        text = path.read_text()
        assert '"mean": 0.3' in text
        path.write_text(text.replace('"mean": 0.3', '"mean": 0.9', 1))
    else:
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"{victim} does not match the sha256"):
        load_bundled("low", copy)


def test_a_plain_export_is_not_a_bundle(models_dir, tmp_path) -> None:
    """A hub folder whose manifest does not vouch for evaluation.json has no figures to trust."""
    copy = tmp_path / "models" / "low"
    shutil.copytree(models_dir / "low", copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    del manifest["files"][EVALUATION_FILE]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="does not list evaluation.json"):
        load_bundled("low", copy.parent)


def test_the_card_says_when_the_test_kappa_is_near_chance() -> None:
    from bundle_fixtures import evaluation_doc

    from cwtmae_cli.runtime.bundle_card import figures_section

    doc = evaluation_doc("m", [0.3, 0.4], test_score=0.1)  # test kappa 0.05
    assert "Its Cohen's kappa over the test records, 0.050, is near chance" in figures_section(doc)
    doc = evaluation_doc("m", [0.3, 0.4], test_score=0.4)  # test kappa 0.2
    assert "near chance" not in figures_section(doc)


def test_the_card_says_how_the_batches_were_drawn() -> None:
    from bundle_fixtures import evaluation_doc

    from cwtmae_cli.runtime.bundle_card import figures_section

    doc = evaluation_doc("m", [0.3, 0.4], test_score=0.4)
    assert "class-balanced" not in figures_section(doc)  # the data's mix: nothing to say
    doc["recipe"]["finetune"].update(balanced_sampling=True, balance_power=0.5)
    assert ("each class's share in proportion to its size to the power 0.5 "
            "(`--balanced-sampling --balance-power 0.5`)") in figures_section(doc)
    doc["recipe"]["finetune"]["balance_power"] = 1.0
    assert "batches drawn class-balanced (`--balanced-sampling`)" in figures_section(doc)
