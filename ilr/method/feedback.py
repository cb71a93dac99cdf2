"""Comparison feedback: the probability that a proposal should replace the current label.

One interface for every kind (``feedback.kind``): items ``{id, prompt, label, proposal}`` in,
one score in [0, 1] per item out; a proposal may replace a label only when its score is > 0.5.

- ``classifier`` (the paper's way): a sequence classifier asked with the paper's template in
  **both orders**; the two answers are averaged, so a judge that always keeps position A (or
  always switches to B) scores exactly 0.5: position bias cancels out. With
  ``feedback_model.head: reward`` the model is a reward model instead, scored sigmoid(r_B - r_A).
- ``oracle``: correctness against gold, each decision flipped with ``flip_rate`` (0 gives the
  paper's oracle variant); items where gold does not decide score 0.5.
- ``file``: human judgments ``{id, choice: "proposal" | "label", seconds}``, one file per
  stage (``--judgments``: dvc.yaml gives each stage its fixed path under ``inputs/judgments``).
"""
from __future__ import annotations

import random

from ilr.core.io import DataFileError, read_numbered_records
from ilr.core.params import FeedbackParams
from ilr.measure.reliability import measure_decisions
from ilr.tasks.task import Task

CHOICES = ("proposal", "label")


def oracle_scores(items: list[dict], gold_by_id: dict, *, task: Task, flip_rate: float,
                  seed: int) -> list[float]:
    scores = []
    for item in items:
        record = gold_by_id[item["id"]]
        label_ok = task.grade(item["label"], record["response"], item=record)
        proposal_ok = task.grade(item["proposal"], record["response"], item=record)
        if label_ok == proposal_ok:
            scores.append(0.5)
            continue
        flip = random.Random(f"oracle/{seed}/{item['id']}/{item['proposal']}").random() < flip_rate
        scores.append(float(proposal_ok != flip))
    return scores


def read_judgments(path: str, gold_ids: set) -> dict:
    """Human judgments by item id, one line ``{id, choice, seconds}`` each: ``choice`` is
    ``proposal`` or ``label``, ``seconds`` (how long the judgment took) a number >= 0, ids
    unique gold training ids. An empty file is read as no judgments."""
    numbered = read_numbered_records(path, required=("id", "choice", "seconds"), allow_empty=True)
    for lineno, r in numbered:
        where = f"{path}:{lineno}: id {r['id']!r}"
        if r["choice"] not in CHOICES:
            raise DataFileError(f"{where}: choice must be one of {list(CHOICES)}, got "
                                f"{r['choice']!r}")
        seconds = r["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not 0 <= seconds < float("inf"):
            raise DataFileError(f"{where}: seconds must be a number >= 0 (how long the judgment "
                                f"took), got {seconds!r}")
    unknown = [r["id"] for _, r in numbered if r["id"] not in gold_ids]
    if unknown:
        raise DataFileError(f"{path}: {len(unknown)} id(s) are not among the gold training "
                            f"prompts, e.g. {unknown[:5]}; use the ids of data/gold/train.jsonl")
    return {r["id"]: r for _, r in numbered}


def file_scores(items: list[dict], judgments: dict, *, path: str) -> list[float]:
    """One score per item from its judgment (1 for ``proposal``, 0 for ``label``); every item
    needs a judgment and every judgment must be for one of the items."""
    asked = list(dict.fromkeys(i["id"] for i in items))
    missing = [key for key in asked if key not in judgments]
    extra = sorted(set(judgments) - set(asked), key=str)
    if missing or extra:
        problems = ([f"no judgment for {len(missing)} compared item(s), e.g. {missing[:5]}"]
                    if missing else []) + ([f"{len(extra)} judgment(s) for items not compared "
                                            f"here, e.g. {extra[:5]}"] if extra else [])
        raise DataFileError(f"{path}: {'; '.join(problems)}; the file must hold one line "
                            f"{{id, choice, seconds}} for each of the {len(asked)} compared "
                            "item(s) and no other")
    return [1.0 if judgments[i["id"]]["choice"] == "proposal" else 0.0 for i in items]


def score_items(items: list[dict], *, params: FeedbackParams, task: Task, gold: list[dict],
                seed: int, classifier: str | None = None, judgments: str | None = None,
                dtype: str = "float32") -> list[float]:
    """Scores in [0, 1] for ``items`` from the configured feedback kind (``judgments``: the
    file of human judgments that kind ``file`` reads)."""
    gold_by_id = {r["id"]: r for r in gold}
    if params.kind == "oracle":
        return oracle_scores(items, gold_by_id, task=task, flip_rate=params.oracle.flip_rate,
                             seed=seed)
    if params.kind == "file":
        if judgments is None:
            raise ValueError("feedback.kind is 'file' but no --judgments file was given")
        return file_scores(items, read_judgments(judgments, set(gold_by_id)), path=judgments)
    if params.kind == "classifier":
        if classifier is None:
            raise ValueError("feedback.kind is 'classifier' but no --classifier model was given")
        from ilr.train.scorers import load_item_scorer

        return load_item_scorer(classifier, batch_size=params.batch_size, dtype=dtype)(items)
    raise ValueError(f"feedback.kind: unknown kind {params.kind!r}; allowed classifier, oracle, file")


def build_check_items(labels: list[dict], gold: list[dict], *, task: Task, n: int,
                      seed: int) -> list[dict]:
    """Items where gold decides: a wrong label against the gold solution, in both roles.

    Half the items offer gold as the proposal (should be accepted), half offer the wrong label as
    the proposal against gold (should be refused).
    """
    gold_by_id = {r["id"]: r for r in gold}
    wrong = [lab for lab in labels
             if not task.grade(lab["response"], gold_by_id[lab["id"]]["response"],
                               item=gold_by_id[lab["id"]])]
    random.Random(f"feedback-check/{seed}").shuffle(wrong)
    items = []
    for lab in wrong[: max(1, n // 2)]:
        g = gold_by_id[lab["id"]]
        items.append({"id": lab["id"], "prompt": g["prompt"], "label": lab["response"],
                      "proposal": g["response"], "want": True})
        items.append({"id": lab["id"], "prompt": g["prompt"], "label": g["response"],
                      "proposal": lab["response"], "want": False})
    return items


def measure_feedback(items: list[dict], scores: list[float]) -> dict:
    """Feedback accuracy on items where gold decides (``want``: should the proposal win?).

    ``n_labels`` counts the distinct answer pairs behind the items: with both-order averaging a
    classifier scores a pair's two roles s and 1 - s, so they are right or wrong together and
    the Wilson interval of the accuracy is over ``n_labels`` trials, not ``n_items``.
    """
    decided = [(i["want"], s) for i, s in zip(items, scores)]
    n_labels = len({(i["id"], min(i["label"], i["proposal"])) for i in items})
    measured = measure_decisions([w for w, _ in decided], [s for _, s in decided],
                                 n_independent=n_labels)
    return {**{k: v for k, v in measured.items() if k != "n"}, "n_items": len(decided),
            "n_labels": n_labels,
            "mean_score_wanted": _mean([s for w, s in decided if w]),
            "mean_score_unwanted": _mean([s for w, s in decided if not w])}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
