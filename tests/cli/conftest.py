"""Fixtures shared by the ``predict`` command's test modules."""

from __future__ import annotations

import pytest
from results_fixtures import SLEEP_LABELS, save_classifier, tiny_classifier


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """An untrained tiny five-stage sleep classifier checkpoint (seeded: the same every time)."""
    model = tiny_classifier(5, seed=2)
    return save_classifier(tmp_path_factory.mktemp("ckpt") / "c", model, SLEEP_LABELS)
