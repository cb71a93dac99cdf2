"""The comparison table: SFT (round 0), SFT+ILR, naive ILR and SFT+DPO by round, with each
model's test accuracy, its labels' accuracy (ILR arms) and its KL from the round-0 SFT policy.

Rows go to ``reports/summary.json`` (keyed by version; `ilr summary` prints it) and to one CSV
per arm under ``plots/rounds`` (round 0 first in each, as the baseline), for `dvc plots`. Each
figure is read from the one metrics file that holds it: a model's test metrics from
``metrics/rounds/<round>.json`` or ``metrics/dpo/<round>.json``, its labels' from
``metrics/labels/<round>.json``, its KL from ``metrics/kl/<round>.json``.
"""
from __future__ import annotations

from ilr.method.rounds import ROUND_ZERO, round_depth

ARMS = {"feedback": "ilr", "naive": "naive", "naive_reference": "naive"}
PLOT_ARMS = ("ilr", "naive", "dpo")
FIELDS = ["arm", "round", "name", "test_accuracy", "label_accuracy", "kl", "kl_se",
          "share_replaced", "replacement_precision", "n_fixed", "n_broken"]
DPO_PREFIX = "models/dpo/"


def dpo_depth(dpo_rounds: dict, name: str) -> int:
    """1 for a DPO round from the SFT model, 1 + the depth of the round whose model it starts from."""
    depth, seen = 0, set()
    while name is not None:
        if name in seen:
            raise ValueError(f"dpo_rounds.{name}.policy: the DPO rounds {sorted(seen)} form a loop")
        seen.add(name)
        policy = dpo_rounds[name].policy
        prev = policy[len(DPO_PREFIX):] if policy.startswith(DPO_PREFIX) else None
        name, depth = (prev if prev in dpo_rounds else None), depth + 1
    return depth


def merge_round_metrics(label_metrics: dict, test_metrics: dict) -> dict:
    """Each round's record: its labels' metrics (written by `refine`) with the round model's
    test accuracy (written by `round_evaluate`) as ``test_accuracy``, so a round whose model
    is not evaluated yet still shows its label accuracy."""
    return {name: {**label_metrics.get(name, {}),
                   **({"test_accuracy": test_metrics[name]["accuracy"]}
                      if name in test_metrics else {})}
            for name in {**label_metrics, **test_metrics}}


def build_summary_rows(rounds: dict, dpo_rounds: dict, *, label_metrics: dict, test_metrics: dict,
                       dpo_metrics: dict, kl: dict) -> list[dict]:
    """One row per model that has metrics; versions without metrics yet are left out.
    ``label_metrics`` and ``test_metrics`` are keyed by round, round 0 included."""
    merged = merge_round_metrics(label_metrics, test_metrics)
    rows = [{**merged[ROUND_ZERO], "arm": "sft", "round": 0, "name": ROUND_ZERO,
             "kl": 0.0, "kl_se": 0.0}]
    for name, item in rounds.items():
        if name in merged:
            rows.append({**merged[name], "arm": ARMS[item.mode], "name": name,
                         "round": round_depth(rounds, name), **kl.get(name, {})})
    for name in dpo_rounds:
        if name in dpo_metrics:
            rows.append({"arm": "dpo", "name": name, "round": dpo_depth(dpo_rounds, name),
                         "test_accuracy": dpo_metrics[name]["accuracy"], **kl.get(name, {})})
    return [{k: row.get(k) for k in FIELDS} for row in rows]


def split_arms(rows: list[dict]) -> dict[str, list[dict]]:
    """``{arm: rows}`` for each plotted arm, the round-0 SFT row first in each."""
    base = [r for r in rows if r["arm"] == "sft"]
    return {arm: base + sorted((r for r in rows if r["arm"] == arm),
                               key=lambda r: (r["round"], r["name"])) for arm in PLOT_ARMS}


TABLE_COLUMNS = ["arm", "round", "name", "label_accuracy", "test_accuracy", "kl", "kl_se",
                 "n_fixed", "n_broken", "replacement_precision", "share_replaced"]
TABLE_ARMS = ("sft", *PLOT_ARMS)


def summary_table_rows(summary: dict) -> list[dict]:
    """reports/summary.json's entries as `ilr summary` prints them: by arm (SFT, ILR, naive,
    DPO), then round; the known columns first, any others after, in the order met."""
    entries = sorted(summary.values(), key=lambda e: (
        TABLE_ARMS.index(e.get("arm")) if e.get("arm") in TABLE_ARMS else len(TABLE_ARMS),
        e.get("round") or 0, str(e.get("name"))))
    extra = [k for e in entries for k in e if k not in TABLE_COLUMNS]
    columns = TABLE_COLUMNS + list(dict.fromkeys(extra))
    return [{c: e.get(c) for c in columns} for e in entries]
