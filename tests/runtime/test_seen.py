"""How recordings are recognised across stores and what is said when scored ones were seen in
training (runtime/seen.py), and what a resumed fine-tuning carries (train/classifier_meta.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from cwtmae_cli.runtime.seen import (
    keys_of,
    overlap_counts,
    overlap_lines,
    recording_key,
    seen_entry,
)
from cwtmae_cli.train.classifier_meta import pretraining_seen


def test_a_recording_is_known_by_its_name_without_merge_prefix_and_its_length() -> None:
    plain = {"id": "A00001", "duration_s": 30.0}
    merged = {"id": "cinc/A00001", "duration_s": 30.0}
    assert recording_key(plain, 0) == recording_key(merged, 7)
    assert recording_key(plain, 0) != recording_key({"id": "A00001", "duration_s": 61.0}, 0)
    assert recording_key(plain, 0) != recording_key({"id": "A00002", "duration_s": 30.0}, 0)
    assert recording_key({}, 3) == "3"  # no id: its index


def test_an_entry_lists_each_recording_of_the_windows_once() -> None:
    recordings = [{"id": f"r{i}", "duration_s": 10.0} for i in range(4)]
    entry = seen_entry("s.zarr", recordings, np.array([2, 0, 2, 2]), ["train"])
    assert entry["n_recordings"] == 2
    assert entry["recordings"] == sorted(keys_of(recordings, [0, 2]))


def _meta(**stages) -> dict:
    return {"seen": {k: None if v is None else {"store": "s.zarr", "splits": ["train"],
                                                "recordings": sorted(v)}
                     for k, v in stages.items()}}  # fmt: skip


def test_only_the_stages_that_saw_scored_recordings_are_named() -> None:
    meta = _meta(pretraining={"a", "b", "c"}, training={"x"}, validation={"b"})
    lines = overlap_lines(meta, {"a", "b", "z"}, "scored here")
    assert len(lines) == 2
    assert lines[0].startswith("pretraining saw 2 of 3 recordings scored here")
    assert lines[1].startswith("fine-tuning chose its best checkpoint on 1 of 3 recordings")
    assert overlap_counts(meta, {"a", "b", "z"}) == {
        "pretraining": 2, "training": 0, "validation": 1,
    }
    assert overlap_lines(meta, {"z"}, "scored here") == []


def test_a_stage_without_a_list_is_said_to_be_unknown() -> None:
    meta = _meta(pretraining=None, training={"x"})
    (line,) = overlap_lines(meta, {"x"}, "scored here")[:1]
    assert "pretraining checkpoint does not list" in line
    assert overlap_counts(meta, {"x"}) == {"pretraining": None, "training": 1}
    assert overlap_counts({}, {"x"}) is None
    assert "cannot be checked" in overlap_lines({}, {"x"}, "scored here")[0]


def test_a_resumed_fine_tuning_keeps_the_pretraining_list_of_its_checkpoint(tmp_path) -> None:
    entry = {"store": "s.zarr", "splits": ["train"], "n_recordings": 1, "recordings": ["a"]}
    ckpt = tmp_path / "step"
    ckpt.mkdir()
    for seen, pretrained, expected in (
        ({"training": entry, "pretraining": entry}, "gone/pre", {"pretraining": entry}),
        ({"training": entry}, None, {}),  # from scratch
        (None, "gone/pre", {"pretraining": None}),  # an older checkpoint: unknown
        (None, None, {}),
    ):
        meta = {"kind": "classifier", "format_version": 1, "model_config": {}}
        meta |= {"seen": seen} if seen is not None else {}
        (ckpt / "meta.json").write_text(json.dumps(meta))
        # the pretraining checkpoint itself is not read on resume (it may be gone)
        assert pretraining_seen(SimpleNamespace(resume_ckpt=str(ckpt)), pretrained) == expected
