"""Curves by round for ``dvc plots``: one table per arm (ILR, naive ILR), round 0 first.

Each row is one label version: its depth (0 for r0), the round model's test accuracy, the
labels' accuracy and the round's replacement counts.
"""
from __future__ import annotations

from ilr.params import ROUND_ZERO, round_depth

ARMS = {"feedback": "ilr", "naive": "naive"}
FIELDS = ["round", "name", "test_accuracy", "label_accuracy", "share_replaced",
          "replacement_precision", "n_fixed", "n_broken"]


def build_round_rows(rounds: dict, round_metrics: dict[str, dict], *, r0_test: dict,
                     r0_labels: dict) -> dict[str, list[dict]]:
    """``{arm: rows}`` for every arm in ``ARMS``; every round needs its metrics."""
    missing = sorted(set(rounds) - set(round_metrics))
    if missing:
        raise ValueError(f"no round metrics for {missing}; run `dvc repro` for those rounds")
    base = {"round": 0, "name": ROUND_ZERO, "test_accuracy": r0_test["accuracy"],
            "label_accuracy": r0_labels["label_accuracy"], "share_replaced": 0.0}
    tables = {arm: [dict(base)] for arm in ARMS.values()}
    for name, item in rounds.items():
        tables[ARMS[item.mode]].append({**round_metrics[name], "name": name,
                                        "round": round_depth(rounds, name)})
    return {arm: sorted(rows, key=lambda r: (r["round"], r["name"])) for arm, rows in tables.items()}
