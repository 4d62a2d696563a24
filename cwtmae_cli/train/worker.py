"""What every rank runs: seed, build the job, open the run folder, resume or start, train,
finish. Shared by ``pretrain`` and ``finetune``; they differ only in how they build the job."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cwtmae_cli.runtime.precision import resolve_precision
from cwtmae_cli.train.config import resolved_settings
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.job import Events, TrainJob
from cwtmae_cli.train.plan import RunPlan
from cwtmae_cli.train.rundir import RunDir
from cwtmae_cli.train.seeding import seed_everything
from cwtmae_cli.train.tensorboard import TensorBoardLog

BuildJob = Callable[[RunPlan, DistContext], TrainJob]
Finish = Callable[[TrainJob, RunDir], dict[str, Any]]


def train_seed(seed: int, rank: int) -> int:
    """The seed of a rank's training randomness (masks, dropout): distinct per rank."""
    return seed + 1_000_003 * rank


def open_run_dir(plan: RunPlan, ctx: DistContext) -> RunDir | None:
    """Rank 0: create the run folder (new run) or open it (resume); other ranks: None."""
    if not ctx.is_main:
        return None
    if plan.resume_ckpt is None:
        return RunDir.create(Path(plan.run_dir), plan.config.to_dict())
    return RunDir(Path(plan.run_dir))


def run_worker(
    plan: RunPlan,
    ctx: DistContext,
    events: Events | None,
    build: BuildJob,
    finish: Finish | None = None,
) -> dict[str, Any]:
    """Train ``plan`` on this rank; rank 0 writes the run folder and returns the summary."""
    precision = resolve_precision(plan.config.precision, ctx.device)  # never "auto" from here
    plan = dataclasses.replace(plan, config=plan.config.replace(precision=precision))
    config = plan.config
    seed_everything(config.seed)  # model initialisation: identical on every rank
    job = build(plan, ctx)
    run = open_run_dir(plan, ctx)
    engine = Engine(config, job, ctx, run, events)
    if run is not None and plan.resume_ckpt is None:
        run.write_config(
            resolved_settings(
                config,
                device=str(ctx.device) if ctx.world_size == 1 else ctx.device.type,
                world_size=ctx.world_size,
                steps_per_epoch=engine.steps_per_epoch,
                total_steps=engine.total_steps,
                model_config=job.meta["model_config"],
                preset=job.meta.get("preset"),
                channel_name=job.meta.get("preprocessing", {}).get("channel"),
            )
        )
    if plan.resume_ckpt is not None:
        engine.resume_from(Path(plan.resume_ckpt))
        if run is not None:
            run.truncate_metrics_after(engine.step)
            run.recover_interrupted_saves()
    else:
        seed_everything(train_seed(config.seed, ctx.rank))
    if run is not None:
        purge = engine.step + 1 if plan.resume_ckpt is not None else None
        run.tensorboard = TensorBoardLog.open(run.path, purge_step=purge)
    try:
        summary = engine.fit()
        summary["run_dir"] = plan.run_dir
        if run is not None:
            _finish_run(run, engine, job, summary, finish)
    finally:
        if run is not None and run.tensorboard is not None:
            run.tensorboard.close()
    ctx.barrier()  # nobody leaves (and tears the group down) before rank 0 has finished
    return summary


def _finish_run(
    run: RunDir, engine: Engine, job: TrainJob, summary: dict[str, Any], finish: Finish | None
) -> None:
    """Rank 0 at the end: the checkpoints in the summary, the job's own finish, FINISHED."""
    summary["checkpoint"] = str(run.step_dir(engine.step))
    if run.best_dir.is_dir():
        summary["best_checkpoint"] = str(run.best_dir)
    if finish is not None:
        summary.update(finish(job, run))
    run.mark_finished(summary)
