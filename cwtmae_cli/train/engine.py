"""The step loop shared by pretraining and fine-tuning: it trains the
:class:`~cwtmae_cli.train.job.TrainJob` the command-specific part hands over.

Data order: one global order per epoch from :class:`ChunkShuffleSampler` (seed, epoch); global
batch ``k`` is positions ``[k G, (k + 1) G)`` of it and rank ``r`` takes its ``r``-th slice of
``G / world_size`` windows. So N processes see exactly the batches one process would, and the
position in the data is just the step number: resume skips ``step % steps_per_epoch`` batches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cwtmae_cli.errors import CheckpointError, TrainingError
from cwtmae_cli.runtime.checkpoint import checkpoint_meta, save_checkpoint
from cwtmae_cli.runtime.precision import resolve_precision
from cwtmae_cli.runtime.state import capture_rng_state, load_train_state, restore_rng_state
from cwtmae_cli.train.clock import TrainClock
from cwtmae_cli.train.compiled import CompiledTraining
from cwtmae_cli.train.config import TrainConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.job import Events, TrainJob, autocast, standardized_batch
from cwtmae_cli.train.optim import build_optimizer
from cwtmae_cli.train.prefetch import prefetched
from cwtmae_cli.train.rundir import RunDir
from cwtmae_cli.train.schedule import WarmupCosine
from cwtmae_cli.train.seeding import seed_everything


class Engine:
    """Runs ``config``'s schedule for ``job`` on this rank. Only rank 0 writes (``run``)."""

    def __init__(
        self,
        config: TrainConfig,
        job: TrainJob,
        ctx: DistContext,
        run: RunDir | None,
        events: Events | None = None,
    ) -> None:
        from cwtmae_cli.data.store.loader import ChunkShuffleSampler

        self.config, self.job, self.ctx, self.run = config, job, ctx, run
        self.emit = events or (lambda kind, payload: None)
        if config.batch_size % ctx.world_size:
            raise TrainingError(
                f"--batch-size {config.batch_size} is the global batch and must divide evenly "
                f"across the {ctx.world_size} processes of this launch"
            )
        self.global_batch = config.batch_size
        self.precision = resolve_precision(config.precision, ctx.device)  # bf16 | fp32
        self.local_batch = config.batch_size // ctx.world_size
        self.sampler = ChunkShuffleSampler(job.train_set, seed=config.seed, shuffle=True,
                                           class_labels=job.balanced_labels,
                                           balance_power=job.balance_power)
        n_windows = len(job.train_set)
        self.steps_per_epoch = n_windows // self.global_batch
        if self.steps_per_epoch == 0:
            raise TrainingError(
                f"the training windows ({n_windows}) do not fill one batch of "
                f"{self.global_batch}; lower --batch-size"
            )
        self.total_steps = config.steps or config.epochs * self.steps_per_epoch
        self.optimizer = build_optimizer(job.model, config.lr, config.weight_decay, job.layer_decay)
        warmup = int(config.warmup_fraction * self.total_steps)
        self.scheduler = WarmupCosine(self.optimizer, self.total_steps, warmup, config.min_lr_ratio)
        self.step = 0
        self.best: dict[str, Any] = {"metric": job.select_metric, "value": None, "step": None}
        self.last_val: dict[str, float] = {}
        self.train_module = self._wrap(job.objective)

    def _wrap(self, objective: nn.Module) -> nn.Module:
        module: nn.Module = objective
        if self.ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            module = DistributedDataParallel(module, device_ids=ids)
        compiled = self.config.compile  # one CompiledTraining (or None) for the whole run
        self.compiled = CompiledTraining(module, self.ctx.device, self.emit) if compiled else None
        return module

    # -- resume ---------------------------------------------------------------------------------
    def resume_from(self, ckpt: Path) -> None:
        """Restore optimizer, schedule, RNG, best-so-far and the step (= position in the data).
        The model weights were loaded by the caller when it rebuilt the model."""
        state = load_train_state(ckpt)
        for key, now in (
            ("steps_per_epoch", self.steps_per_epoch),
            ("total_steps", self.total_steps),
            ("global_batch", self.global_batch),
        ):
            if int(state[key]) != now:
                raise CheckpointError(
                    f"cannot resume {ckpt}: its {key} is {state[key]} but the data and config "
                    f"now give {now} (was the store re-prepared?)"
                )
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self.best = dict(state["best"])
        rng_by_rank = state["rng_by_rank"]
        if self.ctx.rank < len(rng_by_rank):
            restore_rng_state(rng_by_rank[self.ctx.rank], self.ctx.device)
        else:  # more ranks than the run had: exact resume needs the same --gpus
            seed_everything(self.config.seed + 1_000_003 * self.ctx.rank + self.step)

    # -- checkpoints ----------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return checkpoint_meta(self.job.meta, self.step, self.steps_per_epoch,
                               self.config.to_dict())

    def save(self) -> None:
        """Every rank contributes its RNG state; rank 0 writes ``step-N`` and moves ``latest``."""
        rng_by_rank = self.ctx.gather_objects(capture_rng_state(self.ctx.device))
        if self.run is None:
            return
        state = {
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "batch_in_epoch": self.step % self.steps_per_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "global_batch": self.global_batch,
            "world_size": self.ctx.world_size,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng_by_rank": rng_by_rank,
            "best": self.best,
        }
        path = save_checkpoint(self.run.step_dir(self.step), self.job.model, self._meta(), state)
        self.run.set_latest(path)
        self.emit("checkpoint", {"path": str(path), "step": self.step, "best": False})

    def _validate(self) -> None:
        self.job.model.eval()
        with torch.no_grad():
            metrics = self.job.validate(self.job.model, self.ctx)
        self.job.model.train()
        self.last_val = metrics
        name = self.job.select_metric
        value = metrics.get(name) if name else None
        improved = value is not None and (self.best["value"] is None or value > self.best["value"])
        record = {
            "kind": "val",
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 4),
            **metrics,
            "best": bool(improved),
        }
        if self.run is not None:
            self.run.append_metrics(record)
        self.emit("eval", record)
        if improved:
            self.best = {"metric": name, "value": float(value), "step": self.step}
            if self.run is not None:
                meta = {**self._meta(), "metrics": {"split": "val", **metrics}}
                path = save_checkpoint(self.run.best_dir, self.job.model, meta)
                self.emit("checkpoint", {"path": str(path), "step": self.step, "best": True})

    def _validation_due(self) -> bool:
        if self.job.validate is None:
            return False
        if self.step == self.total_steps:
            return True
        every = getattr(self.config, "eval_every", None)
        if every:
            return self.step % every == 0
        return self.step % self.steps_per_epoch == 0

    # -- the loop -------------------------------------------------------------------------------
    def _epoch_order(self, epoch: int) -> np.ndarray:
        self.sampler.set_epoch(epoch)
        return np.fromiter(iter(self.sampler), dtype=np.int64)  # (n_windows,)

    def _train_step(self, positions: np.ndarray | None, batch=None) -> dict[str, float]:
        """One step on the windows at ``positions``, or on ``batch`` = (x, y) already read."""
        x, y = batch if batch is not None else standardized_batch(self.job, positions,
                                                                   self.ctx.device)
        if self.compiled is None:
            return self._step_on(self.train_module, x, y)
        last = self.step + 1 == self.total_steps
        return self.compiled.run(lambda module: self._step_on(module, x, y), last)

    def _step_on(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        with autocast(self.ctx.device, self.precision):
            out = module(x, y)
        loss = out["loss"]
        if not torch.isfinite(loss):
            raise TrainingError(
                f"the loss became {loss.item()} at step {self.step + 1}; lower --lr or check "
                "the store for extreme windows"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(
                self.job.model.parameters(), self.config.grad_clip
            )
        else:
            grad_norm = torch.zeros(())
        self.optimizer.step()
        self.scheduler.step()
        values = {k: float(v.detach()) for k, v in out.items() if v.ndim == 0}
        values["grad_norm"] = float(grad_norm)
        return values

    def _log_due(self) -> bool:
        return self.step % self.config.log_every == 0 or self.step == self.total_steps

    def _save_due(self) -> bool:
        return self.step % self.config.save_every == 0 or self.step == self.total_steps

    def _log_train(self, lr: float, rate: float, elapsed_s: float) -> dict[str, float]:
        """Average the steps since the last log over steps and ranks; rank 0 writes the line."""
        means = {k: float(np.mean([w[k] for w in self._window])) for k in self._window[0]}
        averaged = self.ctx.mean_floats(means)
        self._window = []
        if self.run is not None:
            self.run.append_metrics(
                {
                    "kind": "train",
                    "step": self.step,
                    "epoch": round(self.step / self.steps_per_epoch, 4),
                    **averaged,
                    "lr": lr,
                    "samples_per_s": rate,
                    "elapsed_s": elapsed_s,
                }
            )
        return averaged

    def train_one_epoch(self, clock: TrainClock, start_step: int) -> dict[str, float]:
        """Train from the current step to the end of its epoch (or of the schedule); validate
        and checkpoint when due. Returns the last averaged training stats logged ({} if none)."""
        epoch, first = divmod(self.step, self.steps_per_epoch)
        order = self._epoch_order(epoch)
        logged: dict[str, float] = {}
        n_batches = max(0, min(self.steps_per_epoch - first, self.total_steps - self.step))
        starts = [b * self.global_batch + self.ctx.rank * self.local_batch
                  for b in range(first, first + n_batches)]  # this rank's slice of each batch
        read = lambda lo: standardized_batch(  # noqa: E731 - on the prefetch thread
            self.job, order[lo : lo + self.local_batch], self.ctx.device)
        for batch in prefetched(read, starts):  # batch k + 1 is read while step k computes
            self._window.append(self._train_step(None, batch))
            self.step += 1
            elapsed_s = clock.elapsed_s()
            rate = self.global_batch * (self.step - start_step) / clock.train_s(elapsed_s)
            lr = max(self.scheduler.current_lrs())
            self.emit("step", {"step": self.step, "epoch": self.step / self.steps_per_epoch,
                               "loss": self._window[-1]["loss"], "lr": lr, "samples_per_s": rate})
            if self._log_due():
                logged = self._log_train(lr, rate, elapsed_s)
            with clock.paused():
                if self._validation_due():
                    self._validate()
                if self._save_due():
                    self.save()
        return logged

    def fit(self) -> dict[str, Any]:
        """Train from ``self.step`` to ``total_steps``; return the summary (rank 0's is written)."""
        start_step, clock = self.step, TrainClock()
        self.emit("start", {"total_steps": self.total_steps, "start_step": start_step,
                            "steps_per_epoch": self.steps_per_epoch,
                            "global_batch": self.global_batch,
                            "world_size": self.ctx.world_size, "device": str(self.ctx.device)})
        self.job.model.train()
        self._window: list[dict[str, float]] = []  # step values since the last log line
        last_train: dict[str, float] = {}
        while self.step < self.total_steps:
            last_train = self.train_one_epoch(clock, start_step) or last_train
        return self._summary(clock, start_step, last_train)

    def _summary(self, clock: TrainClock, start_step: int, last_train: dict) -> dict[str, Any]:
        elapsed_s = clock.elapsed_s()
        done = self.step - start_step
        return {
            "steps": self.step,
            "total_steps": self.total_steps,
            "epochs": round(self.step / self.steps_per_epoch, 4),
            "steps_this_session": done,
            "elapsed_s": elapsed_s,
            "samples_per_s": self.global_batch * done / clock.train_s(elapsed_s) if done else None,
            "train": last_train,
            "val": self.last_val,
            "best": self.best,
            "world_size": self.ctx.world_size,
            **self.job.extra_summary,
        }

