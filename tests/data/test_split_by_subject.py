"""`prepare` splits by subject: every recording of one subject lands in the same split.

Tested through ``prepare_store`` on generated Sleep-EDF-style nights (two per subject), so it
holds whatever the split function's internals are."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cwtmae_cli.data.prepare import prepare_store
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.demo.synthetic import write_sleep_edf_dataset


def test_two_nights_of_one_subject_always_share_a_split(tmp_path):
    write_sleep_edf_dataset(tmp_path / "src", n_subjects=8, minutes=10, nights_per_subject=2)
    prepare_store(load_recipe("sleep-edf"), tmp_path / "src", tmp_path / "s.zarr")
    store = open_store(tmp_path / "s.zarr")
    recording, split = store.recording[:], store.split[:]
    splits_of_subject: dict[str, set[int]] = defaultdict(set)
    nights_of_subject: dict[str, int] = defaultdict(int)
    for index, rec in enumerate(store.recordings):
        mine = recording == index
        assert mine.any(), rec["id"]
        splits_of_subject[rec["subject"]].update(np.unique(split[mine]).tolist())
        nights_of_subject[rec["subject"]] += 1
    assert sorted(splits_of_subject) == [f"{s:02d}" for s in range(8)]
    assert set(nights_of_subject.values()) == {2}
    assert all(len(codes) == 1 for codes in splits_of_subject.values()), splits_of_subject
    assert len(set(split.tolist())) == 3  # not trivially one split for everyone
