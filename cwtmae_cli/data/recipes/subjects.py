"""Subjects from recording ids: one capture group of a regular expression (``--subject-regex``,
a recipe's ``source.subject_regex``), as U-Time's ``--subject_matching_regex``."""

from __future__ import annotations

import re

from cwtmae_cli.errors import DataError


def subject_regex_problem(regex: str) -> str | None:
    """Why ``regex`` cannot name subjects (not a regular expression, or not exactly one capture
    group), or None when it can."""
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        return f"is not a valid regular expression ({exc})"
    if compiled.groups != 1:
        return (
            f"must have exactly one capture group, the subject, e.g. '^SC4(\\d\\d)'; "
            f"it has {compiled.groups}"
        )
    return None


def subject_of(regex: str, recording_id: str) -> str:
    """The subject of ``recording_id``: group 1 of ``regex`` (searched in the id), or the id
    itself when there is no regex. DataError naming the id when it does not match."""
    if not regex:
        return recording_id
    m = re.search(regex, recording_id)
    if not m or not m.group(1):
        raise DataError(
            f"recording id `{recording_id}` does not match the subject regex `{regex}` (or its "
            "group is empty); fix --subject-regex or the recipe's source.subject_regex"
        )
    return m.group(1)
