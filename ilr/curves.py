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
    """``{arm: rows}`` for every arm in ``ARMS``. A round without metrics yet (a partial run,
    `dvc repro -s curves`) is left out; the caller names it."""
    base = {"round": 0, "name": ROUND_ZERO, "test_accuracy": r0_test["accuracy"],
            "label_accuracy": r0_labels["label_accuracy"], "share_replaced": 0.0}
    tables = {arm: [dict(base)] for arm in ARMS.values()}
    for name, item in rounds.items():
        if name in round_metrics:
            tables[ARMS[item.mode]].append({**round_metrics[name], "name": name,
                                            "round": round_depth(rounds, name)})
    return {arm: sorted(rows, key=lambda r: (r["round"], r["name"])) for arm, rows in tables.items()}
