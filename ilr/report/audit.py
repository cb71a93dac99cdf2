"""Questions users ask of the versioned labels, answered from the outputs of `dvc repro`:
which labels did a round replace, what happened to one example across rounds, and what changed
between two label versions. Pure functions: records in, rows and counts out.
"""
from __future__ import annotations

from collections import Counter

from ilr.method.rounds import ROUND_ZERO, round_depth
from ilr.tasks.task import Task


def order_versions(rounds: dict) -> list[str]:
    """r0 first, then the rounds by depth (ILR before the naive arm at the same depth)."""
    return [ROUND_ZERO] + sorted(rounds, key=lambda name: (rounds[name].mode != "feedback",
                                                            round_depth(rounds, name), name))


def build_audit_rows(audit: list[dict], *, task: Task, round_name: str,
                     accepted: bool | None = None) -> list[dict]:
    """One row per compared item of a round, optionally only the accepted or the rejected."""
    return [{"round": round_name, "id": a["id"], "old_answer": task.extract_answer(a["old"]),
             "new_answer": task.extract_answer(a["new"]), "score": a["score"],
             "decision": "replaced" if a["accepted"] else "kept",
             "old_correct": a.get("old_correct"), "new_correct": a.get("new_correct")}
            for a in audit if accepted is None or a["accepted"] == accepted]


def count_audit_rows(rows: list[dict]) -> dict:
    """Counts at the end of `ilr audit`: items shown, replaced, kept, fixed and broken."""
    replaced = [r for r in rows if r["decision"] == "replaced"]
    return {"items": len(rows), "replaced": len(replaced), "kept": len(rows) - len(replaced),
            "fixed": sum(bool(r["new_correct"] and r["old_correct"] is False) for r in replaced),
            "broken": sum(bool(r["old_correct"] and r["new_correct"] is False) for r in replaced)}


def kept_reason(item: dict, *, mode: str) -> str:
    """Why a compared proposal did not replace its label: a naive round draws at random among
    the differing proposals (no feedback), a feedback round refuses a proposal not preferred
    (score <= 0.5) and keeps a preferred one the alpha cap left out."""
    if mode != "feedback":
        return "kept (not drawn)"
    score = item.get("score")
    return "kept (over the cap)" if score is not None and score > 0.5 else "kept (feedback refused)"


def build_history(example_id: str, *, versions: dict[str, dict], audits: dict[str, dict],
                  rounds: dict, task: Task, gold: dict | None = None) -> list[dict]:
    """The lineage of one example's label: one row per version, in round order, saying which
    round changed it, from what to what, and with which feedback score."""
    if not any(example_id in labels for labels in versions.values()):
        raise KeyError(f"id {example_id!r} is in none of the label versions "
                       f"{sorted(versions)}; ids look like those of data/gold/train.jsonl")
    rows = []
    for name in order_versions(rounds):
        if name not in versions or example_id not in versions[name]:
            continue
        response = versions[name][example_id]["response"]
        prev = rounds[name].prev if name in rounds else None
        item = audits.get(name, {}).get(example_id)
        rows.append({"version": name, "prev": prev, "answer": task.extract_answer(response),
                     "event": ("start" if prev is None else "replaced" if item and item["accepted"]
                               else kept_reason(item, mode=rounds[name].mode) if item
                               else "kept (agreed)"),
                     "score": item["score"] if item else None,
                     "correct": task.grade(response, gold[example_id]["response"],
                                           item=gold[example_id])
                     if gold and example_id in gold else None, "response": response})
    return rows


def classify_change(old_correct: bool | None, new_correct: bool | None) -> str:
    if old_correct is None or new_correct is None:
        return "changed (gold unknown)"
    return f"{'right' if old_correct else 'wrong'}->{'right' if new_correct else 'wrong'}"


def diff_labels(a: list[dict], b: list[dict], *, task: Task,
                gold: dict | None = None) -> tuple[list[dict], dict]:
    """Per-example differences between two label sets and counts by kind of change.

    Kinds: wrong->right, right->wrong, wrong->wrong, right->right where gold is known (a
    response rewritten with the same verdict), plus ids only in A or only in B.
    """
    gold = gold or {}
    by_a, by_b = {r["id"]: r for r in a}, {r["id"]: r for r in b}
    rows = []
    for key in [r["id"] for r in a] + [r["id"] for r in b if r["id"] not in by_a]:
        if key not in by_b or key not in by_a:
            rows.append({"id": key, "kind": "only in A" if key in by_a else "only in B"})
            continue
        old, new = by_a[key]["response"], by_b[key]["response"]
        if old == new:
            continue
        record = gold.get(key, {})
        truth = record.get("response")
        rows.append({"id": key, "kind": classify_change(
            None if truth is None else task.grade(old, truth, item=record),
            None if truth is None else task.grade(new, truth, item=record)),
            "old_answer": task.extract_answer(old), "new_answer": task.extract_answer(new)})
    counts = Counter(r["kind"] for r in rows)
    return rows, {"n_a": len(a), "n_b": len(b), "n_changed": len(rows), **dict(sorted(counts.items()))}
