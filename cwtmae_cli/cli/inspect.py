"""``cwtmae inspect PATH``: what a store, a checkpoint or a run folder holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.console import out, warn
from cwtmae_cli.cli.options import JsonFlag
from cwtmae_cli.data.split import SPLIT_NAMES
from cwtmae_cli.wording import plural


def _where(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def window_policy_line(summary: dict) -> str | None:
    """How windows were cut, when it is not the plain grid of whole windows one length apart."""
    policy = summary.get("window_policy") or {}
    if not policy or (policy["stride_s"] == policy["window_s"] and not policy.get("cover")):
        return None
    line = f"windows every {policy['stride_s']:g} s"
    if policy.get("cover"):
        line += ", each recording covered to its last sample"
        padded = (summary.get("padded") or {}).get("recordings") or []
        if padded:
            line += (
                f"; {plural(len(padded), 'recording')} shorter than one window padded with "
                f"{'its' if len(padded) == 1 else 'their'} median "
                f"(at most {summary['padded']['max_padded_s']:g} s): {_listing(padded, 5)}"
            )
    return line


def render_store_summary(summary: dict) -> None:
    """Tables on stdout: windows per split per class, drops by reason, skipped recordings."""
    out.print(_split_table(summary))
    for name in SPLIT_NAMES:
        if summary["splits"][name].get("subjects"):
            subjects = summary["splits"][name]["subjects"]
            out.print(f"{name} subjects: {_listing(subjects)}", highlight=False)
    for line in resampling_lines(summary, summary["fs_hz"]):
        out.print(line, highlight=False)
    for line in (_gaps_line(summary), window_policy_line(summary)):
        if line:
            out.print(line, highlight=False)
    for line in split_warnings(summary):
        warn(line)
    _render_left_out(summary)
    render_channels_read(summary)
    warn_channel_fallbacks(summary)


def _split_table(summary: dict) -> Any:
    """Windows per class and split, then windows and subjects per split; the title says what
    the store holds (and that it is incomplete when prepare was interrupted)."""
    from rich.table import Table

    channels = ", ".join(summary["channels"])
    where = _where(summary["path"]) if summary.get("path") else "no store written"
    title = (
        f"{where}: {plural(summary['n_windows'], 'window')} of {summary['window_s']:g} s "
        f"at {summary['fs_hz']:g} Hz ({summary['n_samples']} samples, {channels}) from "
        f"{plural(summary['n_recordings'], 'recording')} of "
        f"{plural(summary['n_subjects'], 'subject')}"
    )
    if not summary.get("complete", True):
        title += " [incomplete: prepare was interrupted; rerun it to resume]"
    table = Table(title=title, title_justify="left")
    table.add_column("class")
    for name in (*SPLIT_NAMES, "total"):
        table.add_column(name, justify="right")
    splits = summary["splits"]
    for row in [*summary["label_names"], "unlabelled"]:
        counts = [splits[s]["per_class"].get(row, 0) for s in SPLIT_NAMES]
        if row == "unlabelled" and not any(counts) and summary["label_names"]:
            continue
        table.add_row(row, *map(str, counts), str(sum(counts)))
    table.add_section()
    totals = [splits[s]["n_windows"] for s in SPLIT_NAMES]
    table.add_row("windows", *map(str, totals), str(sum(totals)), style="bold")
    subjects = [splits[s]["n_subjects"] for s in SPLIT_NAMES]
    table.add_row("subjects", *map(str, subjects), str(summary["n_subjects"]))
    return table


def _gaps_line(summary: dict) -> str | None:
    """The NaN/Inf gaps interpolated, when there were any."""
    gaps = summary.get("gaps_interpolated") or {}
    if not gaps.get("n_gaps"):
        return None
    n_rec = len(gaps["recordings"])
    return (
        f"interpolated {plural(gaps['n_gaps'], 'gap')} of NaN/Inf samples of at most "
        f"{gaps['max_gap_s']:g} s ({plural(gaps['n_samples'], 'sample')} in all) in "
        f"{plural(n_rec, 'recording')}: {_listing(gaps['recordings'], 5)}; longer gaps drop "
        "their windows "
        "as non-finite"
    )


def _render_left_out(summary: dict) -> None:
    """The windows dropped by reason and the recordings skipped, each table when not empty."""
    from rich.table import Table

    if summary["dropped"]:
        drops = Table(title="windows dropped", title_justify="left")
        drops.add_column("reason")
        drops.add_column("windows", justify="right")
        for reason, n in summary["dropped"].items():
            drops.add_row(reason, str(n))
        out.print(drops)
    if summary.get("skipped"):
        skipped = Table(title="recordings skipped", title_justify="left")
        skipped.add_column("recording")
        skipped.add_column("reason", overflow="fold")
        for entry in summary["skipped"]:
            skipped.add_row(entry["id"], entry["reason"])
        out.print(skipped)


def render_channels_read(summary: dict) -> None:
    """Which file channels filled each slot, on stdout, for slots not read from one name
    everywhere (``channel MLII: MLII in 42 recordings, V5 in 2``)."""
    for entry in summary.get("channels_read", []):
        read = entry["read"]
        if len(read) > 1 or entry["fallback"]:
            counts = list(read.items())
            parts = [f"{name} in {n}" for name, n in counts]
            parts[0] += " recording" if counts[0][1] == 1 else " recordings"
            out.print(f"channel {entry['slot']}: {', '.join(parts)}", highlight=False)


def warn_channel_fallbacks(summary: dict, most: int = 10) -> None:
    """A warning on stderr per slot naming the recordings that lacked it and gave their first
    channel instead (the recipe's ``first_channel_fallback``)."""
    from cwtmae_cli.cli.console import warn

    for entry in summary.get("channels_read", []):
        fallback = entry["fallback"]
        if not fallback:
            continue
        listed = ", ".join(f"{f['id']} ({f['channel']})" for f in fallback[:most])
        if len(fallback) > most:
            listed += f", ... ({len(fallback) - most} more)"
        one = len(fallback) == 1
        warn(
            f"{len(fallback)} recording{'' if one else 's'} {'has' if one else 'have'} no "
            f"channel {entry['slot']}; {'its' if one else 'their'} first channel was read "
            f"instead: {listed}"
        )


def _listing(names: list[str], limit: int = 12) -> str:
    """``a, b, c`` (the first ``limit`` names, then how many more)."""
    shown = ", ".join(names[:limit])
    return shown + (f", ... (+{len(names) - limit} more)" if len(names) > limit else "")


def resampling_lines(summary: dict, fs_hz: float) -> list[str]:
    """One line per input rate: ``resampled 360 Hz -> 100 Hz: 44 recordings``."""
    lines = []
    for group in summary.get("resampled", []):
        n = group["n_recordings"]
        what = f"{n} recording{'s' if n != 1 else ''}"
        if n <= 3:
            what += f" ({', '.join(group['recordings'])})"
        if group["fs_hz_in"] == fs_hz:
            lines.append(f"read at {fs_hz:g} Hz, not resampled: {what}")
        else:
            lines.append(f"resampled {group['fs_hz_in']:g} Hz \u2192 {fs_hz:g} Hz: {what}")
    return lines


def split_warnings(summary: dict) -> list[str]:
    """What the split could not do: classes missing from a split that has subjects, and
    subjects moved by a rerun on a changed source."""
    lines = []
    holders = summary.get("subjects_per_class", {})
    fractions = summary.get("split_fractions") or []
    for code, name in enumerate(SPLIT_NAMES):
        wanted = code < len(fractions) and fractions[code] > 0
        if wanted and summary["n_windows"] and not summary["splits"][name]["n_subjects"]:
            lines.append(
                f"the {name} split is empty: only {plural(summary['n_subjects'], 'subject')} "
                "with windows, too few to give every split one"
            )
        for label in summary["splits"][name].get("missing_classes") or []:
            who = holders.get(label, [])
            lines.append(
                f"the {name} split has no {label} window: {plural(len(who), 'subject')} "
                f"{'holds' if len(who) == 1 else 'hold'} {label} "
                f"({_listing(who, 5)}) and a subject is never divided, so not every split "
                f"can get one; metrics on {name} flag it"
            )
    moved = summary.get("subjects_moved") or []
    if moved:
        lines.append(
            f"the source changed since the store was finished: {plural(len(moved), 'subject')} "
            f"changed split ({_listing(moved, 5)}); runs trained on the old split are not "
            "comparable"
        )
    return lines


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, inner in value.items():
            rows += _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, (list, tuple)):
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, str(value))]


def render_mapping(info: dict, title: str) -> None:
    """A two-column key/value table of a (nested) dict."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("key")
    table.add_column("value", overflow="fold")
    for key, value in _flatten(info):
        table.add_row(key, value)
    out.print(table)


def inspect(
    path: Annotated[Path, typer.Argument(help="A store (.zarr), a checkpoint or a run folder.")],
    json_out: JsonFlag = False,
) -> None:
    """Show what a store, a checkpoint or a run folder holds."""
    from cwtmae_cli.errors import UsageError
    from cwtmae_cli.runtime.hub import is_hub_ref

    if is_hub_ref(path):
        _render_checkpoint(path, json_out)
        return
    if not path.exists():
        raise UsageError(f"no such path: {path}")
    if (path / "zarr.json").is_file():
        from cwtmae_cli.data.store.schema import describe_store

        info = describe_store(path)
        if json_out:
            out.print_json(json.dumps(info))
        else:
            render_store_summary(info)
        return
    is_run = (path / "config.json").is_file() or (path / "checkpoints").is_dir()
    if (path / "meta.json").is_file() or is_run:
        _render_checkpoint(path, json_out)
        return
    raise UsageError(
        f"{path} is neither a store (no zarr.json) nor a checkpoint (meta.json) or run folder "
        "(config.json, checkpoints/)"
    )


def _render_checkpoint(path: Path, json_out: bool) -> None:
    from cwtmae_cli.runtime.checkpoint import describe_checkpoint

    info = describe_checkpoint(path)
    if json_out:
        out.print_json(json.dumps(info, default=str))
    else:
        render_mapping(info, _where(str(path)))


def register(app: typer.Typer) -> None:
    app.command(name="inspect")(inspect)
