"""The ILR decision rule: which proposals replace the current labels in a round.

Pure functions, records in and records out. A proposal whose final answer equals the current
label's is kept without asking (the difference filter); the rest are *compared*: feedback scores
them, and a proposal replaces its label only when preferred (score > 0.5) and within the cap.

``alpha_scope`` picks how the cap ``alpha`` is read:

- ``dataset`` (the paper's text, default): at most ``floor(alpha * n_labels)`` replacements per
  round, the highest scores first.
- ``compared`` (the reference code): accept scores above
  ``max(0.5, quantile(compared scores, 1 - alpha))``, a share of the compared items. It is
  applied as a count, the ``floor(alpha * n_compared)`` highest scores above 0.5, which is the
  same for distinct scores and stays right when scores tie (an oracle's 0/1 scores would put the
  quantile at 1.0 and accept nothing).

``mode: naive`` is the ablation without feedback: up to the cap of the differing proposals,
chosen at random (seeded), replace their labels. ``mode: naive_reference`` is the reference
code's ablation: a random ``alpha`` share of *all* labels is replaced by its proposal, with no
difference filter (some replacements then carry the same answer).
"""
from __future__ import annotations

import math
import random

SCOPES = ("dataset", "compared")
MODES = ("feedback", "naive", "naive_reference")


def find_compared(labels: list[dict], proposals: dict[str, str], *, same_answer,
                  gold_by_id: dict | None = None) -> list[dict]:
    """Items whose proposal differs from the current label (by ``same_answer``, told the gold
    record as ``item`` for tasks that run answers on the item's data)."""
    gold_by_id = gold_by_id or {}
    return [{"id": lab["id"], "prompt": lab["prompt"], "label": lab["response"],
             "proposal": proposals[lab["id"]]}
            for lab in labels
            if lab["id"] in proposals and not same_answer(lab["response"], proposals[lab["id"]],
                                                          item=gold_by_id.get(lab["id"]))]


def select_replacements(compared: list[dict], scores: list[float] | None, *, n_labels: int,
                        alpha: float, alpha_scope: str = "dataset", mode: str = "feedback",
                        seed: int | str = 0) -> list[bool]:
    """For each compared item, whether its proposal replaces the label."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"refine.alpha must be in (0, 1], got {alpha}")
    if alpha_scope not in SCOPES:
        raise ValueError(f"refine.alpha_scope: {alpha_scope!r}; allowed {list(SCOPES)}")
    if mode not in MODES:
        raise ValueError(f"refine.mode: {mode!r}; allowed {list(MODES)}")
    cap = math.floor(alpha * n_labels + 1e-9)
    if mode in ("naive", "naive_reference"):
        chosen = set(random.Random(f"naive/{seed}").sample(range(len(compared)),
                                                           min(cap, len(compared))))
        return [i in chosen for i in range(len(compared))]
    if scores is None or len(scores) != len(compared):
        raise ValueError("feedback mode needs one score per compared item")
    if alpha_scope == "compared":
        cap = math.floor(alpha * len(compared) + 1e-9)
    ranked = sorted((i for i, s in enumerate(scores) if s > 0.5),
                    key=lambda i: (-scores[i], compared[i]["id"]))
    chosen = set(ranked[:cap])
    return [i in chosen for i in range(len(compared))]


def apply_replacements(labels: list[dict], compared: list[dict], accepted: list[bool], *,
                       round_name: str) -> list[dict]:
    """The next label set: same ids and prompts in the same order, accepted proposals swapped in."""
    new = {c["id"]: c["proposal"] for c, ok in zip(compared, accepted) if ok}
    return [{**lab, "response": new[lab["id"]], "source": f"ilr:{round_name}"}
            if lab["id"] in new else lab for lab in labels]


def build_audit(compared: list[dict], scores: list[float] | None, accepted: list[bool], *,
                gold_by_id: dict, grade) -> list[dict]:
    """One audit record per compared item: old, new, score, decision, gold correctness."""
    audit = []
    for i, (item, ok) in enumerate(zip(compared, accepted)):
        gold = gold_by_id.get(item["id"])
        audit.append({"id": item["id"], "old": item["label"], "new": item["proposal"],
                      "score": None if scores is None else scores[i], "accepted": ok,
                      "old_correct": None if gold is None else grade(item["label"], gold["response"],
                                                                     item=gold),
                      "new_correct": None if gold is None else grade(item["proposal"],
                                                                     gold["response"], item=gold)})
    return audit


def measure_round(audit: list[dict], *, n_labels: int) -> dict:
    """Counts of a round: compared, replaced, share replaced, replacement precision (replaced
    labels that became correct) and broken (correct labels a replacement made wrong)."""
    replaced = [a for a in audit if a["accepted"]]
    judged = [a for a in replaced if a["new_correct"] is not None]
    return {"n_compared": len(audit), "n_replaced": len(replaced),
            "share_replaced": len(replaced) / n_labels if n_labels else 0.0,
            "replacement_precision": (sum(a["new_correct"] and not a["old_correct"] for a in judged)
                                      / len(judged)) if judged else None,
            "n_fixed": sum(bool(a["new_correct"] and not a["old_correct"]) for a in judged),
            "n_broken": sum(bool(a["old_correct"] and not a["new_correct"]) for a in judged)}


def round_compared(labels: list[dict], proposals: list[dict], *, same_answer, gold: list[dict],
                   mode: str = "feedback") -> list[dict]:
    """The items a round compares (and, in feedback mode, sends to the feedback): ``proposals``
    (``{id, proposal}`` records) that differ from ``labels``; every label needs a proposal.
    ``ilr judge export`` asks people about exactly these."""
    by_id = {p["id"]: p["proposal"] for p in proposals}
    missing = [lab["id"] for lab in labels if lab["id"] not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} label(s) have no proposal, e.g. {missing[:5]}; the "
                         "proposals must come from the same label version")
    return find_compared(labels, by_id, gold_by_id={g["id"]: g for g in gold}, same_answer=(
        (lambda a, b, item=None: False) if mode == "naive_reference" else same_answer))


def refine_round(labels: list[dict], proposals: list[dict], *, same_answer, score, grade,
                 gold: list[dict], alpha: float, alpha_scope: str = "dataset",
                 mode: str = "feedback", seed: int = 0,
                 round_name: str) -> tuple[list[dict], list[dict], dict]:
    """One round of refinement: ``(new labels, audit records, round counts)``.

    ``proposals`` are ``{id, proposal}`` records for these labels' ids; ``score(items)`` gives
    the feedback's preference for each compared item's proposal (not called in naive mode).
    """
    compared = round_compared(labels, proposals, same_answer=same_answer, gold=gold, mode=mode)
    gold_by_id = {g["id"]: g for g in gold}
    scores = (score(compared) if compared else []) if mode == "feedback" else None
    accepted = select_replacements(compared, scores, n_labels=len(labels), alpha=alpha,
                                   alpha_scope=alpha_scope, mode=mode,
                                   seed=f"{seed}/{round_name}")
    new = apply_replacements(labels, compared, accepted, round_name=round_name)
    audit = build_audit(compared, scores, accepted, gold_by_id=gold_by_id, grade=grade)
    return new, audit, {"mode": mode, **measure_round(audit, n_labels=len(labels))}
