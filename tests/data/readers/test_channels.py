"""Channel slots: alternatives tried in order, tolerant names, fallback facts, store slots."""

from __future__ import annotations

import pytest

from cwtmae_cli.data.readers.channels import (
    match_channel,
    match_channels,
    match_slot,
    parse_channel_slots,
    pick_channels,
    slot_matches,
    slot_usage,
)
from cwtmae_cli.errors import DataError, UsageError


def test_alternatives_are_tried_in_the_slot_order_not_the_file_order():
    assert match_channel("V1|V2|V4|V5", ["MLII", "V5", "V2"]) == 2  # V2 is listed before V5
    assert match_channel("V4|V5", ["MLII", "V5", "V2"]) == 1
    assert match_channels(["MLII", "V1|V2|V4|V5"], ["V5", "MLII"]) == [1, 0]  # record 114


@pytest.mark.parametrize(
    ("query", "channels", "index"),
    [
        ("C3", ["EEG C4-Ref", "EEG C3-Ref"], 1),  # `EEG ` prefix and `-Ref` suffix ignored
        ("C3", ["C4..", "C3.."], 1),  # EDF dot padding
        ("fc5", ["Fc5.", "Fc6."], 0),
        ("c3-ref", ["EEG C3-Ref"], 0),
        ("EEG c3", ["EEG C3-REF"], 0),
        ("Fpz - Cz", ["EEG Fpz-Cz"], 0),
    ],
)
def test_names_match_tolerantly(query, channels, index):
    assert match_channel(query, channels) == index


def test_a_missing_slot_lists_the_file_channels_and_never_an_empty_list():
    with pytest.raises(DataError) as info:
        match_channel("V1|V2", ["MLII", "V5"], "WFDB record 100")
    assert str(info.value) == "no channel `V1|V2` in WFDB record 100; it has: MLII, V5"
    with pytest.raises(DataError, match=r"^no channel `MLII` in empty.edf; it has no signal"):
        match_channel("MLII", [], "empty.edf")
    with pytest.raises(DataError, match="no channel `Cz`"):  # a name is not a substring
        match_channel("Cz", ["EEG Fpz-Cz"])


def test_an_ambiguous_alternative_is_an_error_not_skipped():
    with pytest.raises(DataError, match="ambiguous"):
        match_channel("C3|C4", ["EEG C3-Ref", "EOG C3", "C4"])


def test_fallback_only_when_the_slot_is_missing():
    assert pick_channels(["MLII"], ["V5", "V2"], "102", fallback=True) == [0]
    assert pick_channels(["MLII"], ["V5", "MLII"], "114", fallback=True) == [1]
    with pytest.raises(DataError, match="ambiguous"):  # not silently the first channel
        pick_channels(["Fpz-Cz"], ["EEG Fpz-Cz", "EOG Fpz-Cz"], "x.edf", fallback=True)
    with pytest.raises(DataError, match="no channel `MLII`"):
        pick_channels(["MLII", "V1"], ["V5", "V1"], "102", fallback=True)  # one slot only


def test_slot_matches_tells_a_fallback_from_an_alternative():
    assert slot_matches("V1|V2|V4|V5", "V2") and slot_matches("C3", "EEG C3-Ref")
    assert not slot_matches("MLII", "V5")


def test_parse_channel_slots():
    assert parse_channel_slots("MLII, V1 | V2|V4|V5") == ["MLII", "V1|V2|V4|V5"]
    assert parse_channel_slots("EEG Fpz-Cz") == ["EEG Fpz-Cz"]
    for bad in ("MLII,,V1", "MLII,", "V1||V2", "|V1", ""):
        with pytest.raises(UsageError, match="--channels"):
            parse_channel_slots(bad)


def test_a_store_slot_is_found_by_its_text_or_by_one_of_its_names():
    slots = ["MLII", "V1|V2|V4|V5"]
    assert match_slot("V1|V2|V4|V5", slots, "s") == 1
    assert match_slot("v2", slots, "s") == 1
    assert match_slot("V5|V4", slots, "s") == 1
    assert match_slot("MLII", ["MLII|V5", "V1"], "s") == 0
    with pytest.raises(DataError, match=r"no channel `V3` in s; it has: MLII, V1\|V2\|V4\|V5"):
        match_slot("V3", slots, "s")
    with pytest.raises(DataError, match="ambiguous"):
        match_slot("V5", ["MLII|V5", "V1|V5"], "s")


def test_slot_usage_counts_names_and_names_the_fallbacks():
    recordings = [
        {"id": "100", "file_channels": ["MLII", "V5"], "channel_fallback": [False, False]},
        {"id": "102", "file_channels": ["V5", "V2"], "channel_fallback": [True, False]},
        {"id": "104", "file_channels": ["V5", "V2"]},  # a store written before the flag
    ]
    usage = slot_usage(["MLII", "V1|V2|V4|V5"], recordings)
    assert usage[0] == {
        "slot": "MLII",
        "read": {"MLII": 1, "V5": 2},
        "fallback": [{"id": "102", "channel": "V5"}, {"id": "104", "channel": "V5"}],
    }
    assert usage[1] == {"slot": "V1|V2|V4|V5", "read": {"V5": 1, "V2": 2}, "fallback": []}
