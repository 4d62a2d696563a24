"""Atomic checkpoint folders, meta checks, run-folder resolution and safe loading."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from stand_ins import LayeredNet

from cwtmae_cli.errors import CheckpointError
from cwtmae_cli.runtime.checkpoint import (
    describe_checkpoint,
    read_meta,
    resolve_checkpoint,
    save_checkpoint,
)
from cwtmae_cli.runtime.loading import load_weights
from cwtmae_cli.runtime.state import capture_rng_state, load_train_state, restore_rng_state
from cwtmae_cli.train.rundir import RunDir

META = {"kind": "classifier", "model_config": {"depth": 3}, "step": 5, "label_names": ["a", "b"]}


def test_save_then_load_gives_identical_weights(tmp_path) -> None:
    torch.manual_seed(0)
    net = LayeredNet()
    ckpt = save_checkpoint(tmp_path / "ck", net, META, train_state={"step": 5})
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "meta.json",
        "model.safetensors",
        "train_state.pt",
    ]
    meta = read_meta(ckpt)
    assert meta["format_version"] == 1 and meta["kind"] == "classifier" and meta["step"] == 5
    other = LayeredNet()
    load_weights(other, ckpt, meta)
    for (name, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert load_train_state(ckpt) == {"step": 5}
    info = describe_checkpoint(ckpt)
    assert info["kind"] == "classifier" and info["label_names"] == ["a", "b"]
    assert info["n_parameters"] == sum(p.numel() for p in net.parameters())


def test_replacing_a_checkpoint_leaves_no_temp_folders(tmp_path) -> None:
    save_checkpoint(tmp_path / "ck", LayeredNet(), {**META, "step": 1})
    save_checkpoint(tmp_path / "ck", LayeredNet(), {**META, "step": 2})
    assert read_meta(tmp_path / "ck")["step"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]


def test_a_failed_save_leaves_nothing_behind(tmp_path) -> None:
    class Unsaveable(dict):
        def __reduce_ex__(self, protocol):  # torch.save fails half-way through the folder
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint(tmp_path / "ck", LayeredNet(), META, train_state={"x": Unsaveable()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupted_weights_raise_checkpoint_error_naming_the_file(tmp_path, damage) -> None:
    ckpt = save_checkpoint(tmp_path / "ck", LayeredNet(), META)
    weights = ckpt / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_weights(LayeredNet(), ckpt, read_meta(ckpt))


def test_meta_problems_are_checkpoint_errors(tmp_path) -> None:
    ckpt = save_checkpoint(tmp_path / "ck", LayeredNet(), META)
    meta = json.loads((ckpt / "meta.json").read_text())
    (ckpt / "meta.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(CheckpointError, match="upgrade cwtmae"):
        read_meta(ckpt)
    (ckpt / "meta.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="meta.json"):
        read_meta(ckpt)
    with pytest.raises(CheckpointError, match="no meta.json"):
        read_meta(tmp_path)


def test_resolve_run_folder_to_latest_or_best(tmp_path) -> None:
    run = RunDir.create(tmp_path / "run", {"command": "finetune"})
    with pytest.raises(CheckpointError, match="no checkpoint yet"):
        resolve_checkpoint(run.path)
    step = save_checkpoint(run.step_dir(10), LayeredNet(), META)
    run.set_latest(step)
    assert resolve_checkpoint(run.path) == step
    assert resolve_checkpoint(run.path, prefer="best") == step  # no best yet
    best = save_checkpoint(run.best_dir, LayeredNet(), META)
    assert resolve_checkpoint(run.path, prefer="best") == best
    assert resolve_checkpoint(step / "model.safetensors") == step
    with pytest.raises(CheckpointError, match="no checkpoint or run folder"):
        resolve_checkpoint(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="neither a checkpoint folder"):
        resolve_checkpoint(tmp_path)


def test_rng_state_survives_weights_only_loading(tmp_path) -> None:
    import random

    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    state = capture_rng_state()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.save({"rng": state}, tmp_path / "s.pt")
    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    restore_rng_state(torch.load(tmp_path / "s.pt", weights_only=True)["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]


def test_train_state_that_is_not_a_torch_file_is_a_checkpoint_error(tmp_path) -> None:
    (tmp_path / "train_state.pt").write_bytes(os.urandom(64))
    with pytest.raises(CheckpointError, match="train_state.pt"):
        load_train_state(tmp_path)


def test_a_crash_between_rename_and_pointer_update_still_finds_the_newest(tmp_path) -> None:
    run = RunDir.create(tmp_path / "run", {"command": "pretrain"})
    run.set_latest(save_checkpoint(run.step_dir(10), LayeredNet(), {**META, "step": 10}))
    save_checkpoint(run.step_dir(20), LayeredNet(), {**META, "step": 20})  # pointer not moved
    assert resolve_checkpoint(run.path) == run.step_dir(20)
    (tmp_path / "run" / "checkpoints" / ".step-0000030.tmp-dead").mkdir()  # a killed save
    assert resolve_checkpoint(run.path) == run.step_dir(20)


def test_resume_recovers_what_a_killed_save_left(tmp_path) -> None:
    run = RunDir.create(tmp_path / "run", {"command": "finetune"})
    best = save_checkpoint(run.best_dir, LayeredNet(), {**META, "step": 4})
    # killed between "move the old best aside" and "rename the new one in"
    best.rename(run.checkpoints / ".best.old-1234abcd")
    (run.checkpoints / ".best.tmp-5678abcd").mkdir()
    (run.path / ".latest.tmp-9abc").write_text("checkpoints/step-0000008\n")
    save_checkpoint(run.step_dir(8), LayeredNet(), {**META, "step": 8})
    (run.checkpoints / ".step-0000008.old-feedbeef").mkdir()  # replaced, then killed
    assert len(run.recover_interrupted_saves()) == 4
    assert read_meta(run.best_dir)["step"] == 4  # the complete old best is back
    assert read_meta(run.step_dir(8))["step"] == 8
    assert sorted(p.name for p in run.checkpoints.iterdir()) == ["best", "step-0000008"]
    assert not list(run.path.glob(".*"))


def test_preprocessing_meta_carries_the_channel_slot_and_its_alternatives() -> None:
    from types import SimpleNamespace

    from cwtmae_cli.train.pretrain import preprocessing_meta

    dataset = SimpleNamespace(fs_hz=100.0, window_s=30.0, n_samples=3000, channel_name="V1|V2",
                              channel_names=["V1|V2"])
    meta = preprocessing_meta(dataset, {"cwt_scales": 32})
    assert meta["channel"] == "V1|V2" and meta["channel_alternatives"] == ["V1", "V2"]
