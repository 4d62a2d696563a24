"""The part of a bundled model's card (``README.md``) that the export card lacks: the figures its
training measured by cross-validation and on a held-out split, how it was trained, what it is
for. Every figure comes from ``evaluation.json`` (:mod:`~cwtmae_cli.runtime.bundled`)."""

from __future__ import annotations

from typing import Any

from cwtmae_cli.runtime.export import CHANCE_KAPPA

_METRICS = (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"),
            ("macro_f1", "macro-F1"), ("cohen_kappa", "Cohen's kappa"))
# The challenge's best entries on its hidden test set (Clifford et al. 2017).
CHALLENGE_BEST = 0.83


def _table(figures: dict[str, Any], score_text: str) -> list[str]:
    lines = ["| figure | value |", "| --- | ---: |", f"| challenge score (mean F1 of N, A, O) | "
             f"{score_text} |"]
    lines += [f"| {label} | {figures[key]:.3f} |" for key, label in _METRICS if key in figures]
    lines += [f"| F1 `{name}` | {value:.3f} |" for name, value in figures.get("f1", {}).items()]
    return lines


def _af_cells(figures: dict[str, Any] | None) -> str:
    """``accuracy 0.912, kappa 0.611, sensitivity ..., specificity ...`` of A vs not-A."""
    if not figures:
        return "no windows"
    parts = [f"{label} " + ("undefined" if figures.get(key) is None else f"{figures[key]:.3f}")
             for key, label in (("accuracy", "accuracy"), ("cohen_kappa", "Cohen's kappa"),
                                ("sensitivity", "sensitivity"), ("specificity", "specificity"))]
    return ", ".join(parts)


def _spread_text(spread: dict[str, Any]) -> str:
    """``0.912 ± 0.030 (folds: 0.900, 0.950, undefined)``."""
    if spread.get("mean") is None:
        return "undefined in every fold"
    sd = spread.get("sd")
    folds = ", ".join("undefined" if v is None else f"{v:.3f}" for v in spread["per_fold"])
    return f"{spread['mean']:.3f}" + (f" ± {sd:.3f}" if sd is not None else "") + \
        f" (folds: {folds})"


def _cv_mitdb_lines(cv: dict[str, Any]) -> list[str]:
    mit = cv.get("mitdb")
    if not mit:
        return []
    folds = cv.get("per_fold", [])
    n_windows = sum((f.get("mitdb") or {}).get("n_windows", 0) for f in folds)
    undefined = [str(f["fold"]) for f in folds if (f.get("mitdb") or {}).get("degenerate")]
    lines = [
        "", f"MIT-BIH, the same folds ({n_windows} test windows in all, by patient): each "
        "window as atrial fibrillation or flutter (`A`) against any other answer. Mean ± sd "
        "over the folds where the figure is defined:", "",
        "| figure | value |", "| --- | ---: |",
        *[f"| {label} | {_spread_text(mit[key])} |"
          for key, label in (("accuracy", "accuracy"), ("cohen_kappa", "Cohen's kappa"),
                             ("sensitivity", "sensitivity for A"),
                             ("specificity", "specificity for A")) if key in mit],
    ]
    if undefined:
        lines += ["", f"Fold(s) {', '.join(undefined)} hold no MIT-BIH patient with A (or only "
                  "such windows): kappa and sensitivity or specificity are undefined there and "
                  "left out of the mean."]
    return lines


def _cv_lines(cv: dict[str, Any]) -> list[str]:
    score = cv["challenge_score"]
    folds = ", ".join(f"{v:.3f}" for v in score["per_fold"])
    n = sum(f.get("n_records", 0) for f in cv.get("per_fold", []))
    merged = bool(cv.get("mitdb"))
    unit = ("by subject over both data sets (a CinC record is a subject, the challenge gives "
            "no patient ids; an MIT-BIH patient is one), " if merged else
            f"by record ({n} records; the challenge gives no patient ids, so a record is a "
            "subject), ")
    return [
        f"{cv['n_folds']}-fold cross-validation {unit}at the shipped settings: each fold "
        f"fine-tuned on the other subjects ({cv['val_fraction']:.0%} of them choosing the best "
        f"step), scored on its own. CinC 2017, {n} test records in all: a record's answer is "
        "the mean of its windows' probabilities. Mean over the folds:", "",
        *_table(cv["records"], f"{score['mean']:.3f} ± {score['sd']:.3f} (folds: {folds})"),
        *_cv_mitdb_lines(cv), "",
        "The encoder was pretrained once, on the windows of the store's train split without "
        "their labels, before the folds were drawn: the test subjects of each fold include some "
        "that the encoder saw unlabelled (never their labels).",
    ]


def _test_lines(test: dict[str, Any]) -> list[str]:
    mit = test.get("mitdb")
    mit_lines = ["", f"MIT-BIH, the {mit['n_windows']} windows ({mit['n_af_windows']} of them "
                 f"`A`) of the test split's {mit['n_records']} records, A against not-A: "
                 f"{_af_cells(mit)}."] if mit else []
    return [
        f"The shipped model (fine-tuned on the store's train split, best step chosen on its "
        f"validation split) on the {test['n_records']} CinC 2017 records of the held-out test "
        "split, which neither pretraining nor fine-tuning read:", "",
        *_table(test["records"], f"{test['challenge_score']:.3f}"), *mit_lines,
    ]


def headline(evaluation: dict[str, Any]) -> tuple[float | None, str]:
    """The challenge score cwtmae stands behind for a bundled model and where it comes from:
    the cross-validated mean when folds were run, else the held-out test split's."""
    cv = evaluation.get("cross_validation") or {}
    score = (cv.get("challenge_score") or {}).get("mean")
    if isinstance(score, (int, float)):
        sd = cv["challenge_score"].get("sd")
        spread = f" ± {sd:.3f}" if isinstance(sd, (int, float)) else ""
        return float(score), f"{score:.3f}{spread}, {cv.get('n_folds')}-fold cross-validated"
    test = evaluation.get("held_out_test") or {}
    score = test.get("challenge_score")
    if isinstance(score, (int, float)):
        return float(score), (f"{score:.3f} on the held-out test split ({test.get('n_records')} "
                              "records; not cross-validated)")
    return None, "not measured"


def _verdict(evaluation: dict[str, Any]) -> list[str]:
    score, text = headline(evaluation)
    kappa = ((evaluation.get("held_out_test") or {}).get("records") or {}).get("cohen_kappa")
    chance = (f" Its Cohen's kappa over the test records, {kappa:.3f}, is near chance: it does "
              "little better than guessing." if isinstance(kappa, float) and kappa < CHANCE_KAPPA
              else "")
    if score is None or score < 0.80:
        return [f"**Read these figures before using the model.** Its challenge score, {text}, "
                f"is well below the challenge's best entries ({CHALLENGE_BEST}) and below the "
                "0.80 that cwtmae asks of a bundled model: it is a small demonstration model "
                f"trained on a CPU budget, not a reliable AF detector.{chance}"]
    return [f"Its challenge score is {text} (the challenge's best entries reached "
            f"{CHALLENGE_BEST} on its hidden test set)."]


_NO_CV = ("Not run: k-fold cross-validation at the shipped settings did not fit the training "
          "budget (one CPU thread on a 2-core machine shared with other jobs). The figures below "
          "come from one held-out split of {n} records, so they carry no spread across folds; "
          "`tools/train_bundled_model.py --folds K` measures it.")


def _mitdb_data_lines(evaluation: dict[str, Any]) -> list[str]:
    mit = (evaluation.get("data") or {}).get("mitdb")
    if not mit:
        return ["MIT-BIH was not used.", ""]
    counts = ", ".join(f"{k} {v}" for k, v in mit["per_class"].items())
    return [
        f"And the MIT-BIH Arrhythmia Database, {mit['n_recordings']} records of "
        f"{mit['n_subjects']} patients (201 and 202 are one patient; 102 and 104, which lack "
        "lead MLII, are left out), prepared with the `mitdb-rhythm` recipe: lead MLII resampled "
        "from 360 to 300 Hz, the same windows, the rhythm notes read as CinC classes (`(N` N; "
        "`(AFIB`, `(AFL` A; every other rhythm O; none is `~`), a window kept only when one "
        f"class covers all of it ({counts} windows). Both stores were merged into one, each "
        "keeping its subject split, with the one channel slot "
        f"`{(evaluation.get('data') or {}).get('channel_slot', 'ECG|MLII')}`: the model reads "
        "`ECG` from a file that has it, else `MLII`.", "",
    ]


def _recipe_lines(evaluation: dict[str, Any]) -> list[str]:
    recipe = evaluation.get("recipe") or {}
    pre, fine = recipe.get("pretrain", {}), recipe.get("finetune", {})
    return [
        "## How it was trained", "",
        "Data: PhysioNet/Computing in Cardiology Challenge 2017, records A00001-A03000 (single "
        "lead, AliveCor, 300 Hz; labels N normal, A atrial fibrillation, O other rhythm, ~ noisy), "
        "prepared with the `cinc2017` recipe: 10-s windows every 5 s, each window taking its "
        "record's label.", "", *_mitdb_data_lines(evaluation),
        f"Recipe: `{pre.get('model')}` preset pretrained as a masked autoencoder for "
        f"{pre.get('steps')} steps (batch {pre.get('batch_size')}, lr {pre.get('lr')}), then "
        f"fine-tuned with the `{fine.get('head')}` head for {fine.get('steps')} steps (batch "
        f"{fine.get('batch_size')}, lr {fine.get('lr')}, class weights "
        f"{'on' if fine.get('class_weights') else 'off'}{_draws(fine)}), seed "
        f"{fine.get('seed')}, on the CPU.", "",
        *([str(recipe["selection"]), ""] if recipe.get("selection") else []),
        "One command reproduces it:", "",
        "```", str(recipe.get("command", "")), "```",
    ]


def _draws(fine: dict[str, Any]) -> str:
    """How the fine-tuning drew its batches and the loss settings it changed, for the card."""
    power = fine.get("balance_power", 1.0)
    draws = ("" if not fine.get("balanced_sampling") else
             ", batches drawn class-balanced (`--balanced-sampling`)" if power == 1.0 else
             f", batches drawn with each class's share in proportion to its size to the power "
             f"{1 - power:g} (`--balanced-sampling --balance-power {power:g}`)")
    extra = [f"{name} {fine[key]:g}" for key, name in (("label_smoothing", "label smoothing"),
                                                        ("layer_decay", "layer decay"))
             if key in fine]
    return draws + "".join(f", {item}" for item in extra)


def _seen(evaluation: dict[str, Any]) -> str:
    cinc = "one device's lead-I-like recordings of the 2017 challenge"
    if (evaluation.get("data") or {}).get("mitdb"):
        return cinc + " and the MLII lead of MIT-BIH's 1970s Holter recordings"
    return cinc


def figures_section(evaluation: dict[str, Any]) -> str:
    """The card's sections on measured figures, training, intended use and limits."""
    cv = evaluation.get("cross_validation")
    lines = [
        "## Measured figures", "", *_verdict(evaluation), "", "### Cross-validation", "",
        *(_cv_lines(cv) if cv else [_NO_CV.format(n=evaluation["held_out_test"]["n_records"])]),
        "", "### Held-out test split", "", *_test_lines(evaluation["held_out_test"]), "",
        *_recipe_lines(evaluation), "",
        "## Intended use", "",
        "Trying cwtmae on single-lead ECG records without training anything: `cwtmae predict "
        f"RECORDS --model {evaluation['name']}` classifies each 10-s window (resampled to 300 Hz) "
        "and, for a folder, each record. For research and teaching only.", "",
        "Not a medical device: it must not be used to diagnose, screen for or rule out atrial "
        f"fibrillation or any other condition. It has seen {_seen(evaluation)}; on other leads, "
        "devices or populations its figures are unknown.", "",
    ]
    return "\n".join(lines)
