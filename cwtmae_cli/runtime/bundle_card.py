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


def _cv_lines(cv: dict[str, Any]) -> list[str]:
    score = cv["challenge_score"]
    folds = ", ".join(f"{v:.3f}" for v in score["per_fold"])
    n = sum(f.get("n_records", 0) for f in cv.get("per_fold", []))
    return [
        f"{cv['n_folds']}-fold cross-validation by record ({n} records; the challenge gives no "
        "patient ids, so a record is a subject), at the shipped settings: each fold fine-tuned "
        f"on the other records ({cv['val_fraction']:.0%} of them choosing the best step), scored "
        "on its own records. A record's answer is the mean of its windows' probabilities. Mean "
        "over the folds:", "",
        *_table(cv["records"], f"{score['mean']:.3f} ± {score['sd']:.3f} (folds: {folds})"), "",
        "The encoder was pretrained once, on the windows of the store's train split without "
        "their labels, before the folds were drawn: the test records of each fold include some "
        "that the encoder saw unlabelled (never their labels).",
    ]


def _test_lines(test: dict[str, Any]) -> list[str]:
    return [
        f"The shipped model (fine-tuned on the store's train split, best step chosen on its "
        f"validation split) on the {test['n_records']} records of the held-out test split, "
        "which neither pretraining nor fine-tuning read:", "",
        *_table(test["records"], f"{test['challenge_score']:.3f}"),
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


def _recipe_lines(evaluation: dict[str, Any]) -> list[str]:
    recipe = evaluation.get("recipe") or {}
    pre, fine = recipe.get("pretrain", {}), recipe.get("finetune", {})
    return [
        "## How it was trained", "",
        "Data: PhysioNet/Computing in Cardiology Challenge 2017, records A00001-A03000 (single "
        "lead, AliveCor, 300 Hz; labels N normal, A atrial fibrillation, O other rhythm, ~ noisy), "
        "prepared with the `cinc2017` recipe: 10-s windows every 5 s, each window taking its "
        "record's label. MIT-BIH was not used.", "",
        f"Recipe: `{pre.get('model')}` preset pretrained as a masked autoencoder for "
        f"{pre.get('steps')} steps (batch {pre.get('batch_size')}, lr {pre.get('lr')}), then "
        f"fine-tuned with the `{fine.get('head')}` head for {fine.get('steps')} steps (batch "
        f"{fine.get('batch_size')}, lr {fine.get('lr')}, class weights "
        f"{'on' if fine.get('class_weights') else 'off'}), seed {fine.get('seed')}, on the "
        "CPU.", "",
        *([str(recipe["selection"]), ""] if recipe.get("selection") else []),
        "One command reproduces it:", "",
        "```", str(recipe.get("command", "")), "```",
    ]


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
        "fibrillation or any other condition. It has seen one device's lead-I-like recordings of "
        "the 2017 challenge; on other leads, devices or populations its figures are unknown.", "",
    ]
    return "\n".join(lines)
