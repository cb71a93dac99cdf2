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
import statistics

from ilr.core.io import DataFileError, read_numbered
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


def item_key(item: dict) -> tuple:
    """What a judgment answers: a compared item's id and, where one prompt has several pairs
    (DPO samples), its ``pair``; the feedback stage's two roles of one answer pair share a key."""
    return (item["id"], item.get("pair", 0))


def _check_judgment(r: dict, where: str) -> None:
    if r["choice"] not in CHOICES:
        raise DataFileError(f"{where}: choice must be one of {list(CHOICES)}, got {r['choice']!r}")
    seconds = r["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not 0 <= seconds < float("inf"):
        raise DataFileError(f"{where}: seconds must be a number >= 0 (how long the judgment "
                            f"took), got {seconds!r}")
    pair = r.get("pair", 0)
    if isinstance(pair, bool) or not isinstance(pair, int) or pair < 0:
        raise DataFileError(f"{where}: pair must be an integer >= 0 (the sample pair of a DPO "
                            f"prompt), got {pair!r}")
    if r.get("shown_second", "label") not in CHOICES:
        raise DataFileError(f"{where}: shown_second must be one of {list(CHOICES)}, got "
                            f"{r['shown_second']!r}")


def read_judgments(path: str, gold_ids: set) -> dict:
    """Human judgments by item key (:func:`item_key`), one line ``{id, choice, seconds}`` each:
    ``choice`` is ``proposal`` or ``label``, ``seconds`` (how long the judgment took) a number
    >= 0, ids gold training ids. Optional: ``pair`` (a DPO prompt's sample pair, default 0),
    ``shown_second`` (which answer the annotator saw second, for position bias) and
    ``over_limit`` (the judgment took longer than its time limit; ``ilr judge import``). An
    empty file is read as no judgments."""
    numbered = read_numbered(path, required=("id", "choice", "seconds"), allow_empty=True)
    seen: dict = {}
    for lineno, r in numbered:
        where = f"{path}:{lineno}: id {r['id']!r}"
        if not isinstance(r["id"], (str, int)) or isinstance(r["id"], bool):
            raise DataFileError(f"{path}:{lineno}: id must be a string or an integer, got "
                                f"{r['id']!r}")
        _check_judgment(r, where)
        key = item_key(r)
        if key in seen:
            raise DataFileError(f"{where}: judged twice (first on line {seen[key]}); one line "
                                "per compared item (and pair)")
        seen[key] = lineno
    unknown = [r["id"] for _, r in numbered if r["id"] not in gold_ids]
    if unknown:
        raise DataFileError(f"{path}: {len(unknown)} id(s) are not among the gold training "
                            f"prompts, e.g. {unknown[:5]}; use the ids of data/gold/train.jsonl")
    return {item_key(r): r for _, r in numbered}


def _shown(key: tuple):
    return key[0] if key[1] == 0 else f"{key[0]} pair {key[1]}"


def file_scores(items: list[dict], judgments: dict, *, path: str) -> list[float]:
    """One score per item from its judgment (1 for ``proposal``, 0 for ``label``); every item
    needs a judgment and every judgment must be for one of the items. A judgment answers the
    first item of its key; a later item of the key with the two answers swapped (the feedback
    stage's second role) gets the complement."""
    asked = list(dict.fromkeys(item_key(i) for i in items))
    missing = [_shown(key) for key in asked if key not in judgments]
    extra = [_shown(key) for key in sorted(set(judgments) - set(asked), key=str)]
    if missing or extra:
        problems = ([f"no judgment for {len(missing)} compared item(s), e.g. {missing[:5]}"]
                    if missing else []) + ([f"{len(extra)} judgment(s) for items not compared "
                                            f"here, e.g. {extra[:5]}"] if extra else [])
        raise DataFileError(f"{path}: {'; '.join(problems)}; the file must hold one line "
                            f"{{id, choice, seconds}} for each of the {len(asked)} compared "
                            "item(s) and no other")
    first: dict = {}
    scores = []
    for item in items:
        key = item_key(item)
        score = 1.0 if judgments[key]["choice"] == "proposal" else 0.0
        shown = first.setdefault(key, (item.get("label"), item.get("proposal")))
        scores.append(score if shown == (item.get("label"), item.get("proposal")) else 1.0 - score)
    return scores


def judgment_stats(rows: list[dict]) -> dict:
    """What human judgments cost and how they lean: their count, median seconds, the share
    that chose the answer shown second (position bias; 0.5 is none) over the judgments that
    record the order, and how many ran over their time limit."""
    ordered = [r for r in rows if "shown_second" in r]
    return {"n_judgments": len(rows),
            "median_seconds": statistics.median(r["seconds"] for r in rows) if rows else None,
            "share_shown_second": (sum(r["choice"] == r["shown_second"] for r in ordered)
                                   / len(ordered)) if ordered else None,
            "n_over_limit": sum(bool(r.get("over_limit")) for r in rows)}


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


def file_judgment_metrics(params: FeedbackParams, judgments: str | None,
                          gold: list[dict]) -> dict:
    """``{"judgments": judgment_stats(...)}`` for ``feedback.kind: file``, else nothing: the
    metrics a stage that reads human judgments adds (median seconds, position bias)."""
    if params.kind != "file" or judgments is None:
        return {}
    read = read_judgments(judgments, {g["id"] for g in gold})
    return {"judgments": judgment_stats(list(read.values()))}
