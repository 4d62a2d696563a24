"""What a benchmark is: the settings saved in ``plan.json`` and reused by ``--resume``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cwtmae_cli.errors import UsageError


@dataclass(frozen=True)
class BenchmarkSettings:
    """What a benchmark is; saved in ``plan.json`` and reused by ``--resume``."""

    n_folds: int = 5
    label_fractions: tuple[float, ...] = (0.05, 0.2, 1.0)
    val_fraction: float = 0.2  # of each fold's non-test subjects
    seed: int = 0  # folds, validation parts, label subsets, and every cell's training
    keep_checkpoints: bool = False
    unseen_only: bool = False  # cross-validate only recordings the pretraining did not see
    finetune: dict[str, Any] = field(default_factory=dict)  # finetune flags of every cell
    config_file: str | None = None  # finetune --config TOML of every cell

    def __post_init__(self) -> None:
        if self.n_folds < 2:
            raise UsageError(f"--folds {self.n_folds}: cross-validation needs at least 2 folds")
        if not 0.0 < self.val_fraction < 1.0:
            raise UsageError(
                f"--val-fraction {self.val_fraction:g} must lie strictly between 0 and 1"
            )
        if not self.label_fractions or not all(0.0 < f <= 1.0 for f in self.label_fractions):
            raise UsageError(
                f"--label-fractions {list(self.label_fractions)}: each must lie in (0, 1]"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_folds": self.n_folds,
            "label_fractions": list(self.label_fractions),
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "keep_checkpoints": self.keep_checkpoints,
            "unseen_only": self.unseen_only,
            "finetune": dict(self.finetune),
            "config_file": self.config_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkSettings:
        return cls(**{**data, "label_fractions": tuple(data["label_fractions"])})
