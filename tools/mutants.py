#!/usr/bin/env python3
"""Seeded-bug check: does the test suite catch one-line bugs of the kinds real bugs take?

For each mutant of the list below, a fresh temporary copy of the project (``cwtmae_cli/``,
``tests/``, ``pyproject.toml``, ``README.md``, ``docs/``) gets exactly one change, and the listed
tests run on that copy with ``python -m pytest -x -q -p no:cacheprovider`` (``PYTHONPATH`` set to
the copy, so the copy is what gets imported, also by subprocesses). A mutant is

- ``killed`` when a test fails (or cannot even be collected),
- ``survived`` when the listed tests pass: a bug the suite lets through,
- ``stale`` when its original snippet does not occur exactly once in the file any more (the code
  moved on): the mutant must be refreshed,
- ``timeout`` when the tests run past ``--timeout`` seconds,
- ``error`` when pytest itself fails (usage error, no tests collected).

Before the mutants, the union of their tests runs once on an unchanged copy (the baseline): a red
baseline would make every mutant look killed, so it stops the check.

Exit status: 0 every mutant killed; 1 a mutant survived or timed out; 2 bad usage (an unknown
``--only`` id); 3 a stale or broken mutant, or a red baseline (and no survivor).

Not part of the package, standard library only; see docs/testing.md. Usage::

    python tools/mutants.py                 # all mutants (10 to 25 minutes on 2 cores)
    python tools/mutants.py --list          # the list, with stale snippets flagged; runs nothing
    python tools/mutants.py --only rope-q-only,mae-loss-spec-denominator
    python tools/mutants.py --only head-cot-last-token --tests tests/model   # other tests
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "cwtmae_cli"
COPIED = ("cwtmae_cli", "tests", "pyproject.toml", "README.md", "docs")
PYTEST = ("-m", "pytest", "-x", "-q", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class Mutant:
    """One seeded bug: ``original`` (must occur exactly once in ``file``) becomes ``replacement``.

    ``file`` is relative to ``cwtmae_cli/``; ``tests`` are pytest paths or node ids relative to
    the project root; ``kind`` names the sort of bug (off-by-one, wrong axis, ...).
    """

    id: str
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]
    kind: str
    description: str


def m(id: str, file: str, original: str, replacement: str, tests: str, kind: str,
      description: str) -> Mutant:
    """A :class:`Mutant` with ``tests`` given as one space-separated string."""
    return Mutant(id, file, original, replacement, tuple(tests.split()), kind, description)


T_CWT = "tests/model/test_cwt.py"
T_MAE = "tests/model/test_mae.py"
T_ROPE = "tests/model/test_rope.py"
T_CLS = "tests/model/test_classifier.py"
T_ENCODER = "tests/model/test_encoder.py"
T_SCALOGRAM = "tests/model/test_scalogram.py"
T_DIRECT = "tests/model/test_direct_tokens.py"
T_OPT = "tests/train/test_optim_schedule.py"
T_CKPT = "tests/runtime/test_checkpoint.py"
T_ENGINE = "tests/train/test_engine.py"
T_OBJECTIVE = "tests/train/test_objective.py"
T_SIGNAL = "tests/data/test_signal.py"
T_LABELS = "tests/data/test_labels.py"
T_STORE = "tests/data/store/test_store.py"
T_SPLIT = "tests/data/test_split.py"
T_METRICS = "tests/test_metrics.py"
T_SUMMARY = "tests/evaluate/test_sleep_summary.py"
T_PREDICTOR = "tests/evaluate/test_predictor.py"
T_RESAMPLE_RANGE = ("tests/reliability/test_fuzz.py"
                    "::test_any_resampled_range_equals_resampling_whole")
T_STREAMED = ("tests/reliability/test_resource_limits.py"
              "::test_streamed_windows_equal_the_whole_recordings")

MUTANTS: tuple[Mutant, ...] = (
    # ---- model/cwt.py ---------------------------------------------------------------------------
    m("cwt-d1-sign", "model/cwt.py",
      "x[:, 1:] - x[:, :-1]]", "x[:, :-1] - x[:, 1:]]",
      T_CWT, "sign", "first-difference view d1 with the wrong sign"),
    m("cwt-scale-grid", "model/cwt.py",
      "scales = lowest_scale + step * np.arange(num_scales, dtype=np.float64)",
      "scales = lowest_scale + step * np.arange(1, num_scales + 1, dtype=np.float64)",
      T_CWT, "off-by-one", "wavelet scales start one step above the lowest scale"),
    m("cwt-ricker-amplitude", "model/cwt.py",
      "amp = 2.0 / (np.sqrt(3.0 * s) * np.pi**0.25)",
      "amp = 2.0 / (np.sqrt(3.0) * s * np.pi**0.25)",
      T_CWT, "wrong formula", "Ricker amplitude 1/s instead of 1/sqrt(s)"),
    m("cwt-kernel-centre", "model/cwt.py",
      "circular[:, : half + 1] = kernels[:, half:]",
      "circular[:, : half + 1] = kernels[:, half - 1 : -1]",
      T_CWT, "off-by-one", "wavelet kernel placed one sample off centre"),
    m("cwt-zscore-per-scale", "model/cwt.py",
      "torch.std_mean(imgs, dim=(-2, -1), keepdim=True, correction=0)",
      "torch.std_mean(imgs, dim=-1, keepdim=True, correction=0)",
      T_CWT, "wrong axis", "scalogram z-scored per scale instead of over (scale, time)"),
    m("cwt-window-std-unbiased", "model/cwt.py",
      "torch.std_mean(x.float(), dim=-1, keepdim=True, correction=0)",
      "torch.std_mean(x.float(), dim=-1, keepdim=True, correction=1)",
      T_CWT, "wrong denominator", "window z-score with the unbiased (n - 1) std"),
    # ---- model/masking.py -----------------------------------------------------------------------
    m("mask-inverted", "model/masking.py",
      "mask = (ids_restore >= n_keep)", "mask = (ids_restore < n_keep)",
      T_MAE, "inverted condition", "mask marks the kept patches as removed"),
    m("mask-restore-not-inverse", "model/masking.py",
      "ids_restore = torch.argsort(ids_shuffle, dim=1)  # (B, N)",
      "ids_restore = ids_shuffle  # (B, N)",
      T_MAE, "wrong permutation", "ids_restore is the shuffle itself, not its inverse"),
    m("mask-time-wrong-axis", "model/masking.py",
      "noise = col_noise.repeat(1, grid_h)",
      "noise = col_noise.repeat_interleave(grid_h, dim=1)",
      T_MAE, "wrong axis", "time masking spreads a column's noise along a row"),
    # ---- model/rope.py and layers.py (attention) ------------------------------------------------
    m("rope-cls-shares-position", "model/rope.py",
      "rows = torch.arange(grid_h, device=device).repeat_interleave(grid_w) + 1",
      "rows = torch.arange(grid_h, device=device).repeat_interleave(grid_w)",
      "tests/model/test_rope_tables_exact.py", "off-by-one",
      "axial RoPE: the first patch row shares CLS's row position"),
    m("rope-theta-ignored", "model/rope.py",
      "self.theta = float(theta)", "self.theta = 10000.0",
      "tests/model/test_rope_tables_exact.py", "flag ignored", "rope_theta has no effect"),
    m("rope-q-only", "model/layers.py",
      "q, k = apply_rope(q, *rope), apply_rope(k, *rope)", "q, k = apply_rope(q, *rope), k",
      "tests/model/test_layers.py", "missing operand", "RoPE turns q but not k"),
    m("attn-heads-mixed", "model/layers.py",
      "x = x.transpose(1, 2).reshape(B, T, D)  # (B, T, D)",
      "x = x.reshape(B, T, D)  # (B, T, D)",
      "tests/model/test_layers_exact.py", "wrong axis",
      "attention output reshaped without moving the head axis back"),
    m("block-no-residual", "model/layers.py",
      "x = x + self.attn(self.norm1(x), rope)", "x = self.attn(self.norm1(x), rope)",
      "tests/model/test_layers_exact.py", "missing term", "attention branch without residual"),
    m("low-rank-min", "model/layers.py",
      "self.rank = max(32, int(min(in_features, out_features) * rank_ratio))",
      "self.rank = min(32, int(min(in_features, out_features) * rank_ratio))",
      T_MAE, "min/max swapped", "tensorized MLP rank capped at 32 instead of floored"),
    # ---- model/encoder.py -----------------------------------------------------------------------
    m("encoder-rope-first-positions", "model/encoder.py",
      "cos, sin = cos[index], sin[index]",
      "cos, sin = cos[: index.shape[1]], sin[: index.shape[1]]",
      T_ENCODER, "wrong index", "kept tokens turned by their rank, not their real patch position"),
    m("encoder-cwt-scales", "model/encoder.py",
      "imgs = normalized_cwt(x, self.cwt_scales)", "imgs = normalized_cwt(x, self.cwt_scales, 1.0)",
      T_ENCODER, "wrong argument", "encoder's CWT at other scales than the configured ones"),
    m("encoder-pos-embed-shift", "model/encoder.py",
      "return self.patch_embed(imgs) + self.pos_embed[:, 1:]",
      "return self.patch_embed(imgs) + self.pos_embed[:, :-1]",
      "tests/model/test_encoder_exact.py", "off-by-one",
      "patch tokens take the position embedding of the token before (CLS's for the first)"),
    # ---- model/scalogram_moments.py, scalogram.py, direct_tokens.py (issue 16) -----------------
    m("moments-edges-kept", "model/scalogram_moments.py",
      "variance = ((full - edges) / tables.count", "variance = (full / tables.count",
      T_SCALOGRAM, "missing term",
      "scalogram energy by Parseval without subtracting the two cropped edges"),
    m("moments-short-fft", "model/scalogram.py",
      "if spectrum is None or fft_len is None or fft_len < needed:",
      "if spectrum is None or fft_len is None:",
      T_SCALOGRAM, "missing check",
      "moments from the CWT's own FFT length, too short for the full convolution's Parseval"),
    m("moments-tail-not-reversed", "model/scalogram_moments.py",
      "tail = views[..., n_samples - half:].flip(-1)", "tail = views[..., n_samples - half:]",
      T_SCALOGRAM, "wrong order", "right edge's energy with the tail not reversed"),
    m("direct-filters-unconjugated", "model/direct_tokens.py",
      "w_hat = w_hat.conj().permute(0, 4, 2, 1, 3)", "w_hat = w_hat.permute(0, 4, 2, 1, 3)",
      T_DIRECT, "sign", "composed filters convolve with the patch kernel instead of correlating"),
    m("direct-filters-stale", "model/encoder.py",
      "if not same or not torch.equal(cached[0], weight):", "if not same:",
      T_DIRECT, "missing check", "direct-path filters kept after the patch kernel changed"),
    m("compile-rng-not-restored", "train/compiled.py",
      "restore_rng_state(rng, self.device)", "del rng",
      "tests/train/test_compiled.py", "missing step",
      "eager retry of a failed compiled step from an advanced random state"),
    # ---- model/mae.py ---------------------------------------------------------------------------
    m("mae-forward-mask-ratio", "model/mae.py",
      "self.forward_encoder(imgs, self.mask_ratio)", "self.forward_encoder(imgs, 0.75)",
      T_MAE, "flag ignored", "forward masks 75 % whatever mask_ratio says"),
    m("mae-loss-spec-denominator", "model/mae.py",
      "return (per_patch * mask).sum() / mask.sum().clamp_min(1.0)",
      "return (per_patch * mask).sum() / mask.numel()",
      T_MAE, "wrong denominator", "loss_spec divided by all patches, not the masked ones"),
    m("mae-patchify-order", "model/mae.py",
      "x = x.permute(0, 2, 4, 1, 3, 5)  # (B, gh, gw, C, pf, pt)",
      "x = x.permute(0, 2, 4, 1, 5, 3)  # (B, gh, gw, C, pf, pt)",
      T_MAE, "swapped axes", "patch values in (channel, time, freq) order"),
    m("mae-decoder-mask-tokens-first", "model/mae.py",
      "shuffled = torch.cat([x, masked], dim=1)",
      "shuffled = torch.cat([x[:, :1], masked, x[:, 1:]], dim=1)",
      "tests/model/test_mae_exact.py", "swapped arguments",
      "decoder puts mask tokens where the kept tokens belong before unshuffling"),
    m("mae-time-weight-ignored", "model/mae.py",
      "loss = loss_spec + self.time_loss_weight * loss_time",
      "loss = loss_spec + loss_time",
      T_MAE, "flag ignored", "time_loss_weight has no effect"),
    m("params-no-decay-ndim", "model/params.py",
      "if p.ndim <= 1 or", "if p.ndim < 1 or",
      T_MAE, "off-by-one", "biases and norm weights get weight decay"),
    # ---- model/heads.py -------------------------------------------------------------------------
    m("head-mlp-first-token", "model/heads.py",
      "self.fc_in(self.norm_in(tokens.mean(dim=1)))", "self.fc_in(self.norm_in(tokens[:, 0]))",
      "tests/model/test_heads_exact.py", "wrong reduction",
      "MLP head reads the first patch token instead of the mean"),
    m("head-cot-last-token", "model/heads.py",
      "return self.fc(t.mean(dim=1))  # (B, num_classes)",
      "return self.fc(t[:, -1])  # (B, num_classes)",
      "tests/model/test_heads_exact.py", "wrong reduction",
      "latent-reasoning head reads one reasoning token instead of their mean"),
    m("head-res-block-no-skip", "model/heads.py",
      "return x + self.dropout(self.fc2(self.act(self.fc1(self.norm(x)))))",
      "return self.dropout(self.fc2(self.act(self.fc1(self.norm(x)))))",
      "tests/model/test_heads_exact.py", "missing term", "residual block without its skip"),
    # ---- model/classifier.py --------------------------------------------------------------------
    m("classifier-layer-id", "model/classifier.py",
      "return int(param_name.split(\".\")[2]) + 1", "return int(param_name.split(\".\")[2])",
      f"{T_CLS} {T_ENGINE}", "off-by-one", "block i in layer i (shares the embeddings' rate)"),
    m("classifier-num-layers", "model/classifier.py",
      "self.num_layers = self.encoder.depth + 2", "self.num_layers = self.encoder.depth + 1",
      f"{T_CLS} {T_ENGINE}", "off-by-one", "layer count one short: every rate one decay off"),
    m("classifier-keeps-cls", "model/classifier.py",
      "return self.encoder(tokens)[:, 1:]  # (B, N, D)",
      "return self.encoder(tokens)[:, :-1]  # (B, N, D)",
      f"{T_CLS}::test_same_geometry_loads_every_encoder_weight_unchanged", "off-by-one",
      "features keep CLS and drop the last patch token"),
    # ---- model/pretrained.py --------------------------------------------------------------------
    m("pretrained-grid-transposed", "model/pretrained.py",
      "reshape(1, src_grid[0], src_grid[1], D)", "reshape(1, src_grid[1], src_grid[0], D)",
      f"{T_CLS}::test_loads_a_3000_sample_mae_into_a_1000_sample_classifier", "swapped arguments",
      "position-embedding grid read as (time, freq) before interpolating"),
    m("pretrained-align-corners", "model/pretrained.py",
      "mode=\"bicubic\", align_corners=False", "mode=\"bicubic\", align_corners=True",
      f"{T_CLS}::test_loads_a_3000_sample_mae_into_a_1000_sample_classifier", "wrong option",
      "bicubic interpolation with aligned corners (shifts every patch's embedding)"),
    # ---- train/engine.py (best-checkpoint selection, clipping) ----------------------------------
    m("engine-best-is-worst", "train/engine.py",
      "value > self.best[\"value\"]", "value < self.best[\"value\"]",
      "tests/train/test_selection.py", "sign", "best checkpoint is the worst validation epoch"),
    m("engine-best-is-last", "train/engine.py",
      "improved = value is not None and (self.best[\"value\"] is None or value > "
      "self.best[\"value\"])",
      "improved = value is not None",
      "tests/train/test_selection.py", "flag ignored",
      "best checkpoint is the last validation epoch"),
    m("engine-clip-ignored", "train/engine.py",
      "self.job.model.parameters(), self.config.grad_clip",
      "self.job.model.parameters(), float(\"inf\")",
      T_OBJECTIVE, "flag ignored", "gradient norm computed but never clipped"),
    m("engine-warmup-per-epoch", "train/engine.py",
      "warmup = int(config.warmup_fraction * self.total_steps)",
      "warmup = int(config.warmup_fraction * self.steps_per_epoch)",
      "tests/train/test_engine_exact.py", "wrong reference",
      "warm-up a fraction of one epoch instead of the whole run"),
    # ---- train/optim.py -------------------------------------------------------------------------
    m("optim-layer-decay-exponent", "train/optim.py",
      "layer_decay ** (num_layers - 1 - layer)", "layer_decay ** (num_layers - layer)",
      T_OPT, "off-by-one", "layer decay one power too many (the head is not at the full rate)"),
    m("optim-no-decay-list-ignored", "train/optim.py",
      "decays = param.ndim > 1 and not _in_no_decay_set(name, no_decay)",
      "decays = param.ndim > 1",
      T_OPT, "flag ignored", "tokens and position embeddings get weight decay"),
    # ---- train/schedule.py ----------------------------------------------------------------------
    m("schedule-warmup-starts-at-zero", "train/schedule.py",
      "return (step + 1) / self.warmup_steps", "return step / self.warmup_steps",
      T_OPT, "off-by-one", "warm-up's first step at rate 0"),
    m("schedule-cosine-span", "train/schedule.py",
      "span = max(1, self.total_steps - 1 - self.warmup_steps)",
      "span = max(1, self.total_steps - self.warmup_steps)",
      T_OPT, "off-by-one", "cosine does not reach the floor at the last step"),
    m("schedule-resume-step-lost", "train/schedule.py",
      "self.last_step = int(state[\"last_step\"])", "self.last_step = 0",
      T_OPT, "state lost", "resumed schedule starts its curve again"),
    # ---- train/finetune.py ----------------------------------------------------------------------
    m("finetune-class-weights-ignored", "train/finetune.py",
      "inverse_frequency_weights(train_set.labels, n_classes) if config.class_weights else None",
      "None",
      T_OBJECTIVE, "flag ignored", "--class-weights has no effect"),
    m("finetune-label-smoothing-ignored", "train/finetune.py",
      "logits, y, weight=self.class_weights, label_smoothing=self.label_smoothing",
      "logits, y, weight=self.class_weights, label_smoothing=0.0",
      T_OBJECTIVE, "flag ignored", "--label-smoothing has no effect"),
    m("finetune-weights-not-normalised", "train/finetune.py",
      "len(labels) / (n_classes * np.maximum(counts, 1))", "1.0 / np.maximum(counts, 1)",
      T_ENGINE, "wrong denominator", "class weights 1/n_k instead of N / (K n_k)"),
    m("finetune-val-loss-per-batch", "train/validation.py",
      "loss_sum[1] += len(y)", "loss_sum[1] += 1",
      "tests/train/test_validation_exact.py", "wrong denominator",
      "validation loss summed per window but divided by the number of batches"),
    m("finetune-val-confusion-transposed", "train/validation.py",
      "pairs = y * n_classes + logits.argmax(dim=1)",
      "pairs = logits.argmax(dim=1) * n_classes + y",
      "tests/train/test_validation_exact.py", "swapped arguments",
      "validation confusion counts with rows predicted, columns true"),
    # ---- runtime/checkpoint.py and state.py ---------------------------------------------------
    m("checkpoint-prefer-ignored", "runtime/checkpoint.py",
      "if prefer == \"best\" and (best / META_FILE).is_file():",
      "if prefer == \"latest\" and (best / META_FILE).is_file():",
      T_CKPT, "inverted condition", "a run folder resolves to best when latest is asked"),
    m("checkpoint-oldest-step", "runtime/checkpoint.py",
      "return steps[-1]", "return steps[0]",
      T_CKPT, "off-by-one", "a run folder resolves to its oldest checkpoint"),
    m("state-numpy-position-lost", "runtime/state.py",
      "\"pos\": int(np_pos),", "\"pos\": 0,",
      T_CKPT, "state lost", "numpy's RNG position not saved: resume draws other numbers"),
    # ---- data/windows.py ------------------------------------------------------------------------
    m("windows-last-window-lost", "data/windows.py",
      "return max(0, (n_total - first - n_samples) // stride + 1)",
      "return max(0, (n_total - first - n_samples) // stride)",
      T_SIGNAL, "off-by-one", "the last whole window is not cut"),
    m("windows-stride-offset", "data/windows.py",
      "windows = view[:, ::stride][:, :n_windows]", "windows = view[:, 1::stride][:, :n_windows]",
      T_SIGNAL, "off-by-one", "overlapping windows start one sample late"),
    m("windows-flat-all-channels", "data/windows.py",
      "(ptp <= 1e-6 * scale)).any(axis=1)", "(ptp <= 1e-6 * scale)).all(axis=1)",
      "tests/data/test_windows_exact.py", "wrong reduction",
      "a window is flat only when every channel is flat"),
    m("windows-flat-ptp-ignored", "data/process.py",
      "quality = quality_reasons(windows, recipe.flat_ptp)", "quality = quality_reasons(windows)",
      "tests/data/test_windows_exact.py", "flag ignored", "the recipe's flat_ptp has no effect"),
    # ---- data/labels.py -------------------------------------------------------------------------
    m("labels-cover-units", "data/labels.py",
      "cover.max(axis=1) >= spec.min_cover * window_s - 1e-9",
      "cover.max(axis=1) >= spec.min_cover - 1e-9",
      T_LABELS, "wrong units", "min_cover compared in seconds, not as a fraction of the window"),
    m("labels-overlap-min", "data/labels.py",
      "np.minimum(s + window_s, ends_a) - np.maximum(s, onsets_a)",
      "np.minimum(s + window_s, ends_a) - np.minimum(s, onsets_a)",
      T_LABELS, "min/max swapped", "overlap of an interval and a window miscomputed"),
    m("labels-trim-end-by-onset", "data/labels.py",
      "(starts + window_s <= last_s + 1e-6)", "(starts <= last_s + 1e-6)",
      T_LABELS, "off-by-one", "wake trimming keeps one window too many at the end"),
    # ---- data/resample.py -----------------------------------------------------------------------
    m("resample-ratio-inverted", "data/resample.py",
      "ratio = Fraction(fs_out_hz / fs_in_hz)", "ratio = Fraction(fs_in_hz / fs_out_hz)",
      T_SIGNAL, "swapped arguments", "up and down swapped"),
    m("resample-range-offset", "data/resample.py",
      "offset = (lo // down) * up", "offset = (lo // up) * down",
      T_RESAMPLE_RANGE, "swapped arguments",
      "streamed block mapped to the wrong output index"),
    m("resample-range-no-margin", "data/resample.py",
      "margin = (-(-support // down) + 1) * down", "margin = 0",
      T_RESAMPLE_RANGE, "missing term",
      "streamed blocks without the filter margin (edges differ from whole)"),
    m("resample-length-floor", "data/resample.py",
      "return -(-n_in * up // down)", "return n_in * up // down",
      T_RESAMPLE_RANGE, "rounding", "resampled length floored, not ceiled"),
    # ---- data/split.py --------------------------------------------------------------------------
    m("split-remainder-sign", "data/split.py",
      "key=lambda i: (-(exact[i] - counts[i]), i)", "key=lambda i: ((exact[i] - counts[i]), i)",
      f"{T_STORE} {T_SPLIT}", "sign", "left-over subjects go to the smallest remainders"),
    m("split-order-dependent", "data/split.py",
      "names = sorted(class_counts)", "names = list(class_counts)",
      T_SPLIT, "order dependence", "split depends on the order the subjects come in"),
    m("split-no-coverage-pass", "data/split.py",
      "    for k in rarest_first:", "    for k in rarest_first[:0]:",
      T_SPLIT, "missing step", "rare classes not dealt to every split first"),
    m("split-balance-ignores-classes", "data/split.py",
      "key=lambda p: (self.cost_change(row, p), -self.room[p], p))",
      "key=lambda p: (-self.room[p], p))",
      T_SPLIT, "flag ignored", "balance pass blind to the class counts"),
    m("prepare-split-from-names", "data/prepare.py",
      "splits = assign_splits(counts, recipe.split_fractions, recipe.seed)",
      "splits = assign_splits(list(counts), recipe.split_fractions, recipe.seed)",
      "tests/data/test_pipeline.py", "flag ignored", "prepare splits subjects blind to classes"),
    m("split-commonest-first", "data/split.py",
      "key=lambda k: (int(holders[:, k].sum()), k))",
      "key=lambda k: (-int(holders[:, k].sum()), k))",
      "tests/data/test_split_passes.py", "sign",
      "coverage pass places the commonest class first, not the rarest"),
    m("split-cost-sign", "data/split.py",
      "after = before + row[seen]", "after = before - row[seen]",
      "tests/data/test_split_passes.py", "sign",
      "balance cost of adding a subject computed as removing it"),
    # ---- data/process.py and sources.py ---------------------------------------------------------
    m("process-stream-not-aligned", "data/process.py",
      "begin = first + b * n_samples", "begin = b * n_samples",
      "tests/data/test_epoch_alignment.py", "flag ignored",
      "streamed windows not aligned to the hypnogram's epoch grid"),
    m("process-whole-not-aligned", "data/process.py",
      "cut_windows(signal, sig.fs_hz, sig.window_s, start_s=offset_s)",
      "cut_windows(signal, sig.fs_hz, sig.window_s, start_s=0.0)",
      "tests/data/test_epoch_alignment.py", "flag ignored",
      "whole-recording windows not aligned to the hypnogram's epoch grid"),
    m("gaps-no-margin", "data/gaps.py",
      "margin = self.max_gap + 1", "margin = 0",
      "tests/data/test_gaps.py", "missing term",
      "a gap across a streamed block edge is left non-finite (blocks differ from whole)"),
    m("gaps-tail-not-counted", "data/gaps.py",
      "if self._hi < self.n_samples:", "if False:",
      "tests/data/test_gaps.py", "missing step",
      "gaps after the last streamed window are not counted (counts differ from whole)"),
    m("sources-subject-is-recording", "data/recipes/sources.py",
      "subject = subject_of(spec.subject_regex, rid)", "subject = rid",
      "tests/data/test_split_by_subject.py tests/data/recipes/test_sources.py", "flag ignored",
      "every recording its own subject: two nights of a subject can land in two splits"),
    # ---- metrics.py --------------------------------------------------------------------
    m("metrics-normalise-columns", "metrics.py",
      "support = counts.sum(axis=1, keepdims=True)  # (K, 1)",
      "support = counts.sum(axis=0, keepdims=True)  # (K, 1)",
      T_METRICS, "wrong axis", "confusion matrix normalised by columns"),
    m("metrics-macro-over-present", "metrics.py",
      "f1_score(y_true, y_pred, labels=labels, average=\"macro\", zero_division=0)",
      "f1_score(y_true, y_pred, average=\"macro\", zero_division=0)",
      T_METRICS, "flag ignored", "macro-F1 over the classes present only"),
    m("metrics-recordings-sorted", "metrics.py",
      "for rec in recording[np.sort(first)]:", "for rec in recording[first]:",
      T_METRICS, "wrong order", "per-recording rows sorted by index, not by appearance"),
    # ---- evaluate/prediction.py and inference.py ------------------------------------------------
    m("predict-probs-misaligned", "evaluate/prediction.py",
      "probs[good] = classify(", "probs[: len(good)] = classify(",
      f"{T_PREDICTOR}::test_probabilities_stay_with_their_windows_after_a_bad_one",
      "wrong index", "probabilities shift after a skipped (bad) window"),
    m("predict-stride-ignored", "evaluate/prediction.py",
      "self.policy = WindowPolicy(self.window_s, self.stride_s, policy.cover)",
      "self.policy = WindowPolicy(self.window_s, policy.stride_s, policy.cover)",
      T_PREDICTOR, "flag ignored", "--stride-s has no effect"),
    m("inference-softmax-axis", "evaluate/inference.py",
      "chunks.append(torch.softmax(logits, dim=-1)", "chunks.append(torch.softmax(logits, dim=0)",
      "tests/evaluate/test_inference.py", "wrong axis", "softmax over the batch"),
    # ---- evaluate/summary.py --------------------------------------------------------------------
    m("summary-epoch-max", "evaluate/summary.py",
      "epoch_s = min(float(stride_s), float(window_s))",
      "epoch_s = max(float(stride_s), float(window_s))",
      T_SUMMARY, "min/max swapped", "overlapping windows counted as whole windows of time"),
    m("summary-waso-to-end", "evaluate/summary.py",
      "between = labels_arr[first_sleep : last_sleep + 1]", "between = labels_arr[first_sleep:]",
      T_SUMMARY, "wrong bound", "WASO counts the wake after the last sleep window"),
    m("summary-rem-latency-from-start", "evaluate/summary.py",
      "- onset_of_sleep_s) / 60.0", "- onset_s[0]) / 60.0",
      T_SUMMARY, "wrong reference", "REM latency from the first window, not from sleep onset"),
    m("summary-bad-is-sleep", "evaluate/summary.py",
      "is_sleep = (labels_arr != wake) & (labels_arr != BAD_LABEL)",
      "is_sleep = labels_arr != wake",
      T_SUMMARY, "missing term", "windows that failed QC count as sleep"),
    # ---- runtime/manifest.py, runtime/checkpoint.py (exported and hub folders) -----------------
    m("manifest-hash-skipped", "runtime/manifest.py",
      'if sha256_file(path) != entry.get("sha256"):',
      'if False and sha256_file(path) != entry.get("sha256"):',
      "tests/runtime/test_export.py", "check skipped",
      "an exported folder's files used without their sha256 checked"),
    m("manifest-local-unverified", "runtime/checkpoint.py",
      "if hub or (path / MANIFEST_FILE).is_file():", "if hub:",
      "tests/runtime/test_export.py", "check skipped",
      "a local exported folder used without its manifest checked"),
    # ---- evaluate/embedding.py ------------------------------------------------------------------
    m("embed-cls-token", "evaluate/embedding.py",
      "encoder(encoder.tokens(x))[:, 1:]",
      "encoder(encoder.tokens(x))",
      "tests/evaluate/test_embedding.py", "wrong slice", "the CLS token averaged in"),
    m("embed-wrong-windows", "evaluate/embedding.py",
      "kept = np.ascontiguousarray(windows[good])",
      "kept = np.ascontiguousarray(windows[: len(good)])",
      "tests/evaluate/test_embedding.py", "wrong index",
      "the first windows embedded instead of those that passed quality control"),
    # ---- train/tensorboard.py -------------------------------------------------------------------
    m("tensorboard-step-off-by-one", "train/tensorboard.py",
      'step = int(record["step"])', 'step = int(record["step"]) + 1',
      "tests/cli/test_pretrain.py", "off-by-one", "TensorBoard scalars one step late"),
    m("tensorboard-resume-no-purge", "train/worker.py",
      "purge = engine.step + 1 if plan.resume_ckpt is not None else None", "purge = None",
      "tests/train/test_tensorboard.py", "missing step",
      "a resumed run does not tell TensorBoard to drop the steps it redoes"),
    # ---- data/context.py, model/context.py (--context K) ----------------------------------------
    m("context-gap-bridged", "data/context.py",
      "found = sorted_keys[at] == wanted", "found = np.abs(sorted_keys[at] - wanted) <= stride",
      "tests/data/test_neighbourhoods.py", "wrong comparison",
      "a neighbour one stride off (across a dropped window) is taken as the next window"),
    m("context-recordings-leak", "data/context.py",
      "keys = rec_code * band + (onset - low)", "keys = onset - low",
      "tests/data/test_neighbourhoods.py", "missing key",
      "windows of another recording enter the context"),
    m("context-missing-attended", "model/context.py",
      "seq = block(seq, src_key_padding_mask=~present)", "seq = block(seq)",
      "tests/model/test_context_classifier.py", "missing mask",
      "missing neighbours take part in the attention"),
    # ---- model/pretrained.py (several channels) -------------------------------------------------
    m("multichannel-kernel-unscaled", "model/pretrained.py",
      "return weight.repeat(1, in_channels, 1, 1) / in_channels",
      "return weight.repeat(1, in_channels, 1, 1)",
      "tests/model/test_multichannel.py", "missing scale",
      "a widened single-channel kernel sums C channels instead of averaging them"),
    # ---- evaluate/prediction_formats.py, data/readers/label_files.py ----------------------------
    m("edf-annotation-onset-late", "evaluate/prediction_formats.py",
      "round(float(onset), 6),", "round(float(onset) + float(table.window_s), 6),",
      "tests/evaluate/test_prediction_formats.py", "off-by-one",
      "EDF+ annotations one window late"),
    m("text-hypnogram-onset-late", "data/readers/label_files.py",
      "Interval(i * epoch_s, epoch_s, stage)", "Interval((i + 1) * epoch_s, epoch_s, stage)",
      "tests/data/readers/test_fif_and_label_files.py", "off-by-one",
      "a text hypnogram's stages one epoch late"),
    m("moments-rfft-multiplicity", "model/scalogram_moments.py",
      "multiplicity[0] = 1.0", "multiplicity[0] = 2.0",
      "tests/model/test_scalogram.py", "off-by-one",
      "Parseval's energy counts the DC bin twice (the z-score's std off)"),
    m("direct-tokens-shift-sign", "model/direct_tokens.py",
      "shift = (mean / std).float() @ bank.weight_sums.T",
      "shift = -(mean / std).float() @ bank.weight_sums.T",
      "tests/model/test_direct_tokens.py", "sign",
      "the direct patch tokens add the z-score's mean term instead of subtracting it"),
    m("bundled-below-target-inverted", "runtime/bundled.py",
      "return score is None or score < SCORE_TARGET",
      "return score is not None and score > SCORE_TARGET",
      "tests/runtime/test_bundled.py tests/cli/test_models.py", "inverted condition",
      "a bundled model below the 0.80 target is not flagged"),
    m("bundled-manifest-unchecked", "runtime/bundled.py",
      "verify_manifest(folder, required=(WEIGHTS_FILE, META_FILE, EVALUATION_FILE))",
      "None  # manifest not checked",
      "tests/runtime/test_bundled.py tests/cli/test_models.py", "missing check",
      "a bundled model's files used without checking them against its manifest"),
    # benchmark protocol, recording-level scoring, window policy, channel slots, merging
    m("benchmark-test-subjects-trained", "benchmark/protocol.py",
      "rest = {s: counts[s] for s in sorted(counts) if fold_of[s] != index}",
      "rest = {s: counts[s] for s in sorted(counts)}",
      "tests/benchmark/test_benchmark_protocol.py", "missing filter",
      "a fold's test subjects are also dealt to its training and validation parts"),
    m("benchmark-fractions-not-nested", "benchmark/protocol.py",
      "np.random.default_rng([seed, fold.index, int(k)])",
      "np.random.default_rng([seed, fold.index, int(k), int(1000 * fraction)])",
      "tests/benchmark/test_benchmark_protocol.py", "wrong seed",
      "a smaller label fraction's windows are not a subset of a larger one's"),
    m("benchmark-fraction-class-vanishes", "benchmark/protocol.py",
      "take = max(1, int(np.floor(fraction * len(members) + 0.5)))",
      "take = int(np.floor(fraction * len(members) + 0.5))",
      "tests/benchmark/test_benchmark_protocol.py", "missing bound",
      "a rare class drops out of a small label fraction"),
    m("recording-last-window", "evaluate/recording_level.py",
      "means[r] = probs[sel].mean(axis=0)", "means[r] = probs[sel][-1]",
      "tests/evaluate/test_recording_level.py tests/benchmark/test_scoring.py", "wrong reduction",
      "a recording is answered by its last window instead of the mean of its windows"),
    m("summary-row-majority-vote", "evaluate/recording_level.py",
      "best = int(np.argmax(mean))",
      "best = int(np.bincount(probs[good].argmax(axis=1)).argmax())",
      "tests/evaluate/test_recording_level.py tests/cli/test_cinc_results.py", "wrong reduction",
      "summary.tsv labels a recording by majority vote, not by its highest mean probability"),
    m("challenge-score-all-classes", "evaluate/recording_level.py",
      'classes = list(score["mean_f1"])', 'classes = [row["label"] for row in per_class]',
      "tests/evaluate/test_recording_level.py tests/benchmark/test_scoring.py", "flag ignored",
      "the challenge score averages the F1 of every class, noise (~) included"),
    m("policy-tail-not-covered", "data/window_policy.py",
      "if cover and starts[-1] + n_window < n_total:",
      "if False and cover and starts[-1] + n_window < n_total:",
      "tests/data/test_window_policy.py", "flag ignored",
      "the covering policy leaves a recording's last seconds out"),
    m("policy-pad-zero", "data/window_policy.py",
      "np.median(row[np.isfinite(row)]) if np.isfinite(row).any() else 0.0 for row in signal",
      "0.0 for row in signal",
      "tests/data/test_window_policy.py", "wrong constant",
      "a short recording is padded with zeros, not its median: a step at the pad"),
    m("slot-last-alternative", "data/readers/channels.py",
      "    for name in slot_names(slot):\n        index = _find(name, channels, where)",
      "    for name in reversed(slot_names(slot)):\n        index = _find(name, channels, where)",
      "tests/data/readers/test_channels.py", "wrong order",
      "a slot's alternatives tried last first (V5 read where MLII is present)"),
    m("merge-recordings-not-offset", "data/store/merge.py",
      "(recording + rec_base).astype(np.int32)", "recording.astype(np.int32)",
      "tests/data/store/test_merge.py", "missing offset",
      "merged windows of the second store point at the first store's recordings"),
    m("mitdb-rhythm-flutter-other", "datasets/mitdb-rhythm.toml",
      '"(AFL" = "A"', '"(AFL" = "O"',
      "tests/data/recipes/test_mitdb_rhythm.py", "wrong mapping",
      "atrial flutter mapped to other rhythm instead of AF"),
    m("labels-partial-is-no-annotation", "data/labels.py",
      'reasons[i] = partial if annotated[i] else "no annotation"',
      'reasons[i] = "no annotation"',
      "tests/data/test_labels.py", "wrong reason",
      "a window of mixed classes is counted as having no annotation"),
    m("score-recipe-kind-ignored", "evaluate/reference_files.py",
      "candidates = kind or matches", "candidates = matches",
      "tests/cli/test_score.py", "flag ignored",
      ".atr references read with cinc2017's map because it comes first"),
    m("overlay-recipe-kind-ignored", "evaluate/reference.py",
      "return (files or matches or [None])[0]", "return (matches or [None])[0]",
      "tests/evaluate/test_reference.py", "flag ignored",
      "predict's overlay reads an .atr with cinc2017's map (N, A, O, ~) and loses it"),
    m("balanced-weights-uniform", "data/store/balanced.py",
      "weights = counts[inverse].astype(np.float64) ** -power",
      "weights = np.ones(len(labels))",
      "tests/data/store/test_balanced.py", "wrong formula",
      "--balanced-sampling draws windows uniformly: the data's class mix again"),
    m("balance-power-ignored", "data/store/balanced.py",
      "weights = counts[inverse].astype(np.float64) ** -power",
      "weights = counts[inverse].astype(np.float64) ** -1.0",
      "tests/data/store/test_balanced.py", "flag ignored",
      "--balance-power 0.5 accepted but every class still drawn equally often"),
    m("balanced-labels-dropped", "train/engine.py",
      "class_labels=job.balanced_labels,", "class_labels=None,",
      T_OBJECTIVE, "flag ignored",
      "--balanced-sampling accepted but the engine's sampler never sees the labels"),
    m("balance-power-dropped", "train/engine.py",
      "balance_power=job.balance_power)", "balance_power=1.0)",
      T_OBJECTIVE, "flag ignored",
      "--balance-power reaches the job but the engine's sampler draws equal shares"),
)


def source_text(mutant: Mutant, root: Path = REPO) -> str | None:
    path = root / PACKAGE / mutant.file
    return path.read_text(encoding="utf-8") if path.is_file() else None


def stale_reason(mutant: Mutant, root: Path = REPO) -> str | None:
    """Why the mutant cannot be applied to the current code, or None when it can."""
    text = source_text(mutant, root)
    if text is None:
        return f"{PACKAGE}/{mutant.file} does not exist"
    count = text.count(mutant.original)
    if count != 1:
        return f"snippet occurs {count} times in {PACKAGE}/{mutant.file} (must be once)"
    if mutant.original == mutant.replacement:
        return "replacement equals the original"
    return None


def make_copy(dest: Path) -> Path:
    """Copy the project into ``dest/repo`` (next to a ``shared`` link to the real recordings,
    which the tests read in place as ``<root>/../shared``); return the copy's root."""
    root = dest / "repo"
    root.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, root / name)
    shared = REPO.parent / "shared"
    if shared.is_dir():
        (dest / "shared").symlink_to(shared.resolve(), target_is_directory=True)
    return root


def run_tests(root: Path, tests: tuple[str, ...], timeout_s: float) -> tuple[str, str, float]:
    """pytest on ``root``; (``passed``/``failed``/``timeout``/``error``, first failing test or
    pytest's last line, seconds)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, *PYTEST, *tests], cwd=root, env=env,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return "timeout", f"ran past {timeout_s:g} s", time.perf_counter() - started
    seconds = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.MULTILINE)
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    detail = failed.group(1) if failed else (lines[-1] if lines else "")
    if proc.returncode == 0:
        return "passed", detail, seconds
    if proc.returncode in (1, 2):  # tests failed / collection error (a broken import counts)
        return "failed", detail, seconds
    return "error", f"pytest exit {proc.returncode}: {detail}", seconds


def check_import(root: Path) -> None:
    """Fail loudly unless ``cwtmae_cli`` is imported from the copy (not an installed one)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"],
                         cwd=root, env=env, capture_output=True, text=True, check=True).stdout
    if not Path(out.strip()).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"mutants: {PACKAGE} is imported from {out.strip()}, not from the copy "
                         f"{root}; the check would test the wrong code")


def run_mutant(mutant: Mutant, timeout_s: float) -> tuple[str, str, float]:
    """(result, detail, seconds) of one mutant on a fresh copy."""
    reason = stale_reason(mutant)
    if reason is not None:
        return "stale", reason, 0.0
    with tempfile.TemporaryDirectory(prefix=f"cwtmae-mutant-{mutant.id}-") as tmp:
        root = make_copy(Path(tmp))
        path = root / PACKAGE / mutant.file
        path.write_text(path.read_text(encoding="utf-8").replace(mutant.original,
                                                                 mutant.replacement),
                        encoding="utf-8")
        outcome, detail, seconds = run_tests(root, mutant.tests, timeout_s)
    result = {"passed": "survived", "failed": "killed"}.get(outcome, outcome)
    return result, detail, seconds


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seeded-bug check of the test suite "
                                     "(docs/testing.md).")
    parser.add_argument("--only", help="comma-separated mutant ids to run")
    parser.add_argument("--list", action="store_true", help="list the mutants; run nothing")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds each mutant's tests may take (default 300)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of the tests on the unchanged code")
    parser.add_argument("--tests", help="space-separated pytest paths to run for every mutant "
                        "instead of its own list (e.g. to see what the old tests let through)")
    args = parser.parse_args(argv)

    ids = [m.id for m in MUTANTS]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        print(f"mutants: duplicated ids in the list: {', '.join(duplicated)}", file=sys.stderr)
        return 3
    selected = list(MUTANTS)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in ids]
        if unknown:
            print(f"mutants: unknown id(s) {', '.join(unknown)}; see --list", file=sys.stderr)
            return 2
        selected = [mt for mt in MUTANTS if mt.id in wanted]
    if args.tests:
        selected = [replace(mt, tests=tuple(args.tests.split())) for mt in selected]

    if args.list:
        rows = [(mt.id, mt.file, mt.kind, "STALE" if stale_reason(mt) else "ok",
                 " ".join(mt.tests), mt.description) for mt in selected]
        print_table(rows, ("id", "module", "kind", "snippet", "tests", "description"))
        stale = [mt.id for mt in selected if stale_reason(mt)]
        if stale:
            print(f"\nSTALE: {', '.join(stale)}: refresh their snippets", file=sys.stderr)
        print(f"\n{len(selected)} mutants")
        return 3 if stale else 0

    if not args.no_baseline:
        tests = tuple(dict.fromkeys(t for mt in selected for t in mt.tests))
        print(f"baseline: {len(tests)} test selections on the unchanged code ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="cwtmae-mutant-baseline-") as tmp:
            root = make_copy(Path(tmp))
            check_import(root)
            outcome, detail, seconds = run_tests(root, tests, 4 * args.timeout)
        print(f"baseline: {outcome} in {seconds:.0f} s", flush=True)
        if outcome != "passed":
            print(f"mutants: the tests fail without any mutant ({detail}); fix that first",
                  file=sys.stderr)
            return 3

    rows: list[tuple[str, ...]] = []
    counts: dict[str, int] = {}
    total_s = 0.0
    for i, mt in enumerate(selected, 1):
        result, detail, seconds = run_mutant(mt, args.timeout)
        total_s += seconds
        counts[result] = counts.get(result, 0) + 1
        flag = "" if result == "killed" else "  <--"
        print(f"[{i}/{len(selected)}] {mt.id}: {result} in {seconds:.1f} s ({detail}){flag}",
              flush=True)
        rows.append((mt.id, mt.file, mt.kind, result, f"{seconds:.1f}", detail))
    print()
    print_table(rows, ("id", "module", "kind", "result", "seconds", "killed by / why"))
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"\n{len(selected)} mutants: {summary}; {total_s / 60:.1f} min of tests")
    for bad in ("survived", "timeout", "stale", "error"):
        names = [r[0] for r in rows if r[3] == bad]
        if names:
            print(f"{bad.upper()}: {', '.join(names)}", file=sys.stderr)
    if counts.get("survived") or counts.get("timeout"):
        return 1
    if counts.get("stale") or counts.get("error"):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
