"""``cwtmae prepare RECIPE``: recordings -> labelled windows in a zarr store (resumable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.console import note, out, progress_bar, warn
from cwtmae_cli.cli.options import JsonFlag, Workdir
from cwtmae_cli.wording import plural

Recipe = Annotated[
    str,
    typer.Argument(
        help=(
            "Built-in recipe (sleep-edf, mitdb-af, mitdb-rhythm, cinc2017, edf, wfdb) or the path "
            "of a recipe .toml."
        )
    ),
]
Source = Annotated[
    Path | None,
    typer.Option(
        "--source",
        help="Folder holding the recordings (sleep-edf default: MNE's data folder).",
        show_default=False,
    ),
]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out", help="Store to write; default <workdir>/stores/<recipe>.zarr.", show_default=False
    ),
]
Channels = Annotated[
    str | None,
    typer.Option(
        "--channels",
        help="Comma-separated channel slots, each a name or alternatives tried in order "
        "(e.g. 'EEG Fpz-Cz,EEG Pz-Oz' or 'MLII,V1|V2|V4|V5'); names match tolerantly.",
        show_default=False,
    ),
]
Fs = Annotated[
    float | None, typer.Option("--fs", help="Sampling rate to resample to, Hz.", show_default=False)
]
WindowS = Annotated[
    float | None,
    typer.Option("--window-s", help="Window length in seconds.", show_default=False),
]
Workers = Annotated[
    int, typer.Option("--workers", min=1, help="Worker processes reading recordings.")
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        help="Seed of the subject-wise split (default: the recipe's).", show_default=False
    ),
]
SubjectRegex = Annotated[
    str | None,
    typer.Option(
        "--subject-regex",
        help="Regular expression with one capture group, searched in each recording id: the "
        "group is the subject (e.g. '^SC4(\\d\\d)'); one subject's recordings share a split "
        "(default: the recipe's, else subject = recording).",
        show_default=False,
    ),
]
MaxGapS = Annotated[
    float | None,
    typer.Option(
        "--max-gap-s",
        help="Runs of NaN/Inf samples up to this long (seconds, per channel) are linearly "
        "interpolated; longer ones drop their windows as non-finite; 0 turns it off "
        "(default: the recipe's, 0.1).",
        show_default=False,
    ),
]
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing store with a fresh one (the old one stays until the new one "
        "is complete).",
    ),
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Stop at the first recording that cannot be used.")
]
Download = Annotated[
    bool,
    typer.Option("--download", help="sleep-edf only: fetch the data with MNE first (~8 GB)."),
]


def check_workers(workers: int) -> None:
    """More worker processes than makes sense on this machine is a usage error."""
    import os

    from cwtmae_cli.errors import UsageError

    cores = os.cpu_count() or 1
    if workers > 4 * cores:
        raise UsageError(
            f"--workers {workers} is more than 4 per CPU core ({cores} cores here); "
            f"use at most {4 * cores}"
        )


def prepare(
    recipe: Recipe,
    source: Source = None,
    out_path: Out = None,
    channels: Channels = None,
    fs: Fs = None,
    window_s: WindowS = None,
    workers: Workers = 1,
    seed: SeedOpt = None,
    subject_regex: SubjectRegex = None,
    max_gap_s: MaxGapS = None,
    overwrite: Overwrite = False,
    strict: Strict = False,
    download: Download = False,
    json_out: JsonFlag = False,
    workdir: Workdir = None,
) -> None:
    """Read recordings, resample, cut labelled windows and write them to a zarr store."""
    from cwtmae_cli.data.prepare import summary_problem
    from cwtmae_cli.errors import DataError
    from cwtmae_cli.workdir import default_store_path, resolve_workdir

    spec = _recipe_spec(recipe, channels, fs, window_s, seed, subject_regex, max_gap_s)
    check_workers(workers)
    store = out_path or default_store_path(resolve_workdir(workdir), spec.name)
    source = _source_folder(spec, source, download)
    note(f"using source {source}")
    note(f"writing store {store}")
    summary = _write_with_progress(spec, source, store, workers, overwrite, strict)
    _report(summary, json_out)
    problem = summary_problem(summary)
    if problem:
        raise DataError(problem)


def _recipe_spec(
    recipe: str,
    channels: str | None,
    fs: float | None,
    window_s: float | None,
    seed: int | None,
    subject_regex: str | None,
    max_gap_s: float | None,
) -> Any:
    """The recipe with the options given in place of its values."""
    from cwtmae_cli.data.readers.channels import parse_channel_slots
    from cwtmae_cli.data.recipes.load import load_recipe
    from cwtmae_cli.data.recipes.recipe import with_overrides

    names = parse_channel_slots(channels) if channels is not None else None
    return with_overrides(
        load_recipe(recipe),
        channels=names,
        fs_hz=fs,
        window_s=window_s,
        seed=seed,
        subject_regex=subject_regex,
        max_gap_s=max_gap_s,
    )


def _source_folder(spec: Any, source: Path | None, download: bool) -> Path:
    """The folder of recordings: downloaded first with ``--download`` (sleep-edf only), else
    ``--source``, else the recipe's default, which must exist."""
    from cwtmae_cli.data.recipes.sources import default_source
    from cwtmae_cli.errors import DataError, UsageError

    if download:
        if not spec.source.mne_folder:
            raise UsageError(f"--download works for sleep-edf only, not `{spec.name}`")
        from cwtmae_cli.data.download import download_sleep_edf

        note("downloading Sleep-EDF with MNE (files already there are kept)")
        source = download_sleep_edf(source)
    elif source is None:
        source = default_source(spec)
        if not source.is_dir():
            raise DataError(f"no {spec.name} data in {source}; pass --source DIR or --download")
    return source


def _write_with_progress(
    spec: Any, source: Path, store: Path, workers: int, overwrite: bool, strict: bool
) -> dict[str, Any]:
    """The library's store writing, with a progress bar of recordings and windows per second."""
    import time

    from cwtmae_cli.data.prepare import prepare_store

    started = time.monotonic()
    with progress_bar(
        "[progress.description]{task.description}",
        "{task.fields[rate]:>8.0f} windows/s",
        unit="recordings",
    ) as bar:
        task = bar.add_task(spec.name, total=None, rate=0.0)

        def update(n_done: int, n_total: int, n_windows: int, rec_id: str) -> None:
            rate = n_windows / max(time.monotonic() - started, 1e-9)
            bar.update(task, completed=n_done, total=n_total, rate=rate)

        return prepare_store(
            spec,
            source,
            store,
            workers=workers,
            overwrite=overwrite,
            strict=strict,
            progress=update,
        )


def _report(summary: dict[str, Any], json_out: bool) -> None:
    """The store's summary: as JSON on stdout with its warnings on stderr, or as tables with
    the count of recordings resumed."""
    from cwtmae_cli.cli.inspect import render_store_summary, split_warnings, warn_channel_fallbacks

    if json_out:
        out.print_json(json.dumps(summary))
        warn_channel_fallbacks(summary)
        for line in split_warnings(summary):
            warn(line)
    else:
        render_store_summary(summary)
        resumed = summary["recordings_resumed"]
        if resumed:
            were = "was" if resumed == 1 else "were"
            note(f"resumed: {plural(resumed, 'recording')} {were} already in the store")


def register(app: typer.Typer) -> None:
    app.command(name="prepare")(prepare)
