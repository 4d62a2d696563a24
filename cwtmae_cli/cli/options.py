"""Option aliases shared by several commands, so that their help text is identical everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

Workdir = Annotated[
    Path | None,
    typer.Option(
        "--workdir",
        envvar="CWTMAE_HOME",
        help="Working folder holding stores/ and runs/ "
        "(default: $CWTMAE_HOME or the current folder).",
        show_default=False,
    ),
]
Data = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Store to read (a .zarr folder); default: the only store in <workdir>/stores/.",
        show_default=False,
    ),
]
Checkpoint = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="Classifier checkpoint folder, run folder, exported folder or hf://OWNER/NAME[@REV]; "
        "default: the best checkpoint of the latest fine-tuning run.",
        show_default=False,
    ),
]
BundledModelName = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="A model shipped with cwtmae (see `cwtmae models`), instead of --checkpoint: no "
        "working folder, store or training needed.",
        show_default=False,
    ),
]
Device = Annotated[
    str,
    typer.Option(
        "--device", help="Torch device: auto, cpu, cuda or cuda:N (auto picks CUDA when present)."
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
# --json of the commands that score (evaluate, score): a file, or "-" for stdout.
JsonOut = Annotated[
    Path | None,
    typer.Option(
        "--json",
        help="Write every metric to this JSON file ('-' prints the JSON alone on stdout).",
        show_default=False,
    ),
]

# Batch size of the inference commands (evaluate, predict).
ForwardBatch = Annotated[int, typer.Option("--batch-size", min=1, help="Windows per forward pass.")]

# Options of the two training commands (pretrain, finetune). None means "not given": the value
# then comes from --config or the defaults (cwtmae_cli.train.config).
TrainChannel = Annotated[
    str | None,
    typer.Option(
        "--channel",
        help="Store channel: name or index (default: 0, the first); several, comma-separated "
        "('MLII,V1'), train a several-channel model.",
        show_default=False,
    ),
]
Epochs = Annotated[
    int | None,
    typer.Option(
        "--epochs",
        help="Schedule length in passes over the training windows "
        "(default: 20 pretrain, 10 finetune).",
        show_default=False,
    ),
]
Steps = Annotated[
    int | None,
    typer.Option(
        "--steps",
        help="Schedule length in optimizer steps (instead of --epochs).",
        show_default=False,
    ),
]
TrainBatch = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        help="Global batch, split evenly across --gpus (default: 64).",
        show_default=False,
    ),
]
RunContext = Annotated[
    int | None,
    typer.Option(
        "--context",
        help="Windows seen per classified window, for a checkpoint trained with --context: odd, "
        "at most the checkpoint's; fewer mask the outer neighbours (default: the checkpoint's).",
        show_default=False,
    ),
]
Lr = Annotated[
    float | None,
    typer.Option(
        "--lr",
        help="Peak learning rate (default: 3e-4 pretrain, 5e-4 finetune).",
        show_default=False,
    ),
]
Gpus = Annotated[
    int | None,
    typer.Option(
        "--gpus",
        help="Processes to run, one per GPU (CPU processes over gloo with "
        "--device cpu); under torchrun the launch decides (default: 1).",
        show_default=False,
    ),
]
SaveEvery = Annotated[
    int | None,
    typer.Option(
        "--save-every",
        help="Steps between checkpoints, plus one at the end (default: 1000).",
        show_default=False,
    ),
]
RunOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Run folder (default: <workdir>/runs/<command>-<UTC stamp>).",
        show_default=False,
    ),
]
Resume = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        help="Continue a run exactly: its folder or one of its checkpoints/step-* folders.",
        show_default=False,
    ),
]
Compile = Annotated[bool, typer.Option(
    "--compile", help="torch.compile the training step (static shapes, the CWT eager); says on "
    "stderr how long compiling took, and continues eager where the backend cannot compile.")]
_PRECISION_HELP = "Network numerics: bf16 (autocast; the CWT and losses stay float32) or fp32; "
TrainPrecision = Annotated[
    str | None,
    typer.Option(
        "--precision",
        help=_PRECISION_HELP + "auto is bf16 on CUDA, fp32 on CPU (default: auto).",
        show_default=False,
    ),
]
RunPrecision = Annotated[
    str,
    typer.Option(
        "--precision",
        help=_PRECISION_HELP + "auto is the precision the checkpoint was trained and selected in.",
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="TOML file of settings (flags win over it).", show_default=False),
]
ModelSize = Annotated[
    str | None,
    typer.Option(
        "--model", help="Model size: tiny, small or base (default: base).", show_default=False
    ),
]


def training_flags(params: dict[str, Any]) -> dict[str, Any]:
    """A training command's parameters as config flags: only the options the user gave (None or
    False = not given), ``--channel 1`` as index 1, paths as strings. ``config`` (the TOML file)
    is not a flag: the planner takes it separately."""
    flags = {k: v for k, v in params.items() if k != "config" and v is not None and v is not False}
    channel = flags.get("channel")
    if isinstance(channel, str) and channel.strip().isdigit():
        flags["channel"] = int(channel)
    for key in ("data", "out", "resume", "workdir", "pretrained"):
        if key in flags:
            flags[key] = str(flags[key])
    return flags
