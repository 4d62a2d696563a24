"""Issue 14's sleep target: 3 channels + ``--context 11`` against 1 channel without context, at
equal steps, on the demo's generated nights (test-split macro-F1 and kappa).

Steps, all through the ``cwtmae`` commands:

1. generate ``--subjects`` nights of ``--minutes`` with ``EEG Fpz-Cz``, ``EEG Pz-Oz`` and
   ``EOG horizontal`` (``cwtmae_cli.demo.synthetic``, the demo's generator with the extra channels);
2. ``prepare sleep-edf --channels 'EEG Fpz-Cz,EEG Pz-Oz,EOG horizontal'`` (subject-wise split);
3. ``pretrain --model tiny`` on ``EEG Fpz-Cz`` (the 3-channel model widens it, docs/model.md),
   unless ``--from-scratch``;
4. ``finetune`` twice from it with the same steps, batch, lr and seed: ``--channel 'EEG Fpz-Cz'``
   and ``--channel <all three> --context K``;
5. ``evaluate --split test`` with each best checkpoint.

Usage (the defaults take ~10-25 min on a loaded 2-core CPU; the context arm is ~K x 3 times the
encoder work of the other per step)::

    python benchmarks/bench_context_sleep.py [--subjects 10] [--minutes 60] [--steps 60]
        [--batch-size 16] [--context 11] [--lr 5e-4] [--seed 0] [--from-scratch] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

CHANNELS = "EEG Fpz-Cz,EEG Pz-Oz,EOG horizontal"


def cwtmae(*args: str) -> None:
    """One ``cwtmae`` command in this process; raises on a non-zero exit."""
    from cwtmae_cli.cli.app import app

    try:
        app(list(args), standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise RuntimeError(f"cwtmae {' '.join(args)} exited {exc.code}") from None


def prepare(root: Path, subjects: int, minutes: float, seed: int) -> Path:
    from cwtmae_cli.demo.synthetic import write_sleep_edf_dataset

    write_sleep_edf_dataset(root / "nights", n_subjects=subjects, minutes=minutes, seed=seed,
                            extra_channels=True)
    store = root / "stores" / "sleep3.zarr"
    cwtmae("prepare", "sleep-edf", "--source", str(root / "nights"), "--out", str(store),
           "--channels", CHANNELS, "--workdir", str(root))
    return store


def arm(root: Path, store: Path, name: str, channel: str, context: int, args) -> dict:
    """Fine-tune one arm from the pretraining run and score its best checkpoint on test."""
    run = root / "runs" / name
    start = time.perf_counter()
    start_from = (["--from-scratch", "--model", "tiny"] if args.from_scratch
                  else ["--pretrained", str(root / "runs" / "pretrain")])
    cwtmae("finetune", "--data", str(store), *start_from, "--head", "cot", "--classes", "5",
           "--channel", channel, "--context", str(context),
           "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--lr",
           str(args.lr), "--eval-every", str(max(1, args.steps // 4)), "--save-every",
           str(args.steps), "--seed", str(args.seed), "--device", "cpu", "--out", str(run))
    train_s = time.perf_counter() - start
    report = root / f"{name}.json"
    cwtmae("evaluate", "--checkpoint", str(run / "checkpoints" / "best"), "--data", str(store),
           "--split", "test", "--json", str(report), "--device", "cpu")
    doc = json.loads(report.read_text())
    summary = doc["summary"]
    return {"arm": name, "channels": channel, "context": context,
            "test_windows": summary["n_windows"],
            "macro_f1": round(summary["macro_f1"], 3), "kappa": round(summary["cohen_kappa"], 3),
            "accuracy": round(summary["accuracy"], 3), "train_s": round(train_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--pretrain-steps", type=int, default=40)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--context", type=int, default=11)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--from-scratch", action="store_true",
                        help="no pretraining: both arms start from random tiny weights")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        store = prepare(root, args.subjects, args.minutes, args.seed)
        if not args.from_scratch:
            cwtmae("pretrain", "--data", str(store), "--channel", "EEG Fpz-Cz", "--model",
                   "tiny", "--steps", str(args.pretrain_steps), "--batch-size", "32", "--lr",
                   "1e-3", "--seed", str(args.seed), "--device", "cpu", "--out",
                   str(root / "runs" / "pretrain"))
        rows = [arm(root, store, "one-channel", "EEG Fpz-Cz", 1, args),
                arm(root, store, f"three-channels-context{args.context}", CHANNELS,
                    args.context, args)]
    start = "from scratch" if args.from_scratch else f"{args.pretrain_steps} pretraining steps"
    print(f"\n{args.subjects} generated nights of {args.minutes:g} min, tiny, {start}, "
          f"{args.steps} fine-tuning steps at batch "
          f"{args.batch_size}, lr {args.lr:g}, seed {args.seed}; test split")
    for r in rows:
        print(f"{r['arm']:<28} macro-F1 {r['macro_f1']:.3f}  kappa {r['kappa']:.3f}  "
              f"accuracy {r['accuracy']:.3f}  ({r['train_s']} s training)")
    gain = 100 * (rows[1]["macro_f1"] - rows[0]["macro_f1"])
    print(f"macro-F1 gain: {gain:+.1f} points (target >= +10)")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
