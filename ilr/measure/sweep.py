"""The feedback-reliability sweep: one experiment per oracle flip rate, and the rows that plot,
for an ILR round and a DPO round fed the same feedback, the test accuracy (and ILR's
label-accuracy change) against the accuracy the feedback actually had on the arm's own decided
items, with the break-even accuracy the ILR round's items imply.

Each experiment is a `dvc exp run -S feedback.kind=oracle -S feedback.oracle.flip_rate=<f>
<targets>`, run one after another in the workspace (DVC reruns only the targets and what they
need that changed: refine, round SFT and evaluation for ILR; pair scoring, DPO and evaluation
for DPO, whose samples do not depend on the feedback; `dvc exp show` lists them). The default
flip rate runs last, so the workspace ends as params.yaml has it. The CSVs are rewritten after
every point, merged with the points already in them, so an interrupted sweep keeps what it
measured and a later `ilr sweep --flip-rates ...` adds the rest.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FLIP_RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
FIELDS = ["flip_rate", "arm", "round", "feedback_accuracy", "feedback_accuracy_low",
          "feedback_accuracy_high", "feedback_auroc", "feedback_break_even", "label_accuracy",
          "label_accuracy_change", "n_fixed", "n_broken", "fixed_vs_broken_p", "test_accuracy",
          "test_accuracy_change"]


def sweep_order(flip_rates: list[float], *, default: float) -> list[float]:
    """The flip rates to run in the order given (the most wanted first, in case the sweep is
    interrupted), duplicates dropped, the committed default last (when it is among them)."""
    rates = list(dict.fromkeys(flip_rates))
    bad = [f for f in rates if not 0.0 <= f <= 1.0]
    if bad:
        raise ValueError(f"--flip-rates: {bad} are not probabilities in [0, 1]")
    return [f for f in rates if f != default] + ([default] if default in rates else [])


def exp_run_command(flip_rate: float, *, targets: list[str]) -> list[str]:
    return ["dvc", "exp", "run", "-S", "feedback.kind=oracle",
            "-S", f"feedback.oracle.flip_rate={flip_rate}", *targets]


def build_sweep_row(flip_rate: float, *, round_name: str, label_metrics: dict,
                    r0_label_accuracy: float, round_metrics: dict | None = None,
                    r0_test_accuracy: float | None = None) -> dict:
    """One ILR row: the round's measured feedback accuracy, its label-accuracy change and (where
    the round model was evaluated: ``metrics/rounds/<round>.json``'s ``accuracy``) its test
    accuracy and change from round 0."""
    row = {k: label_metrics.get(k) for k in FIELDS}
    row.update(flip_rate=flip_rate, arm="ilr", round=round_name,
               label_accuracy_change=label_metrics["label_accuracy"] - r0_label_accuracy,
               **_test_fields((round_metrics or {}).get("accuracy"), r0_test_accuracy))
    return row


def build_dpo_sweep_row(flip_rate: float, *, round_name: str, pair_metrics: dict,
                        round_metrics: dict | None = None,
                        r0_test_accuracy: float | None = None) -> dict:
    """One DPO row: the feedback's accuracy on the round's pairs where exactly one sample is
    right, and the DPO model's test accuracy (``metrics/dpo/<round>.json``'s ``accuracy``) and
    change from round 0 (DPO changes no labels)."""
    row = dict.fromkeys(FIELDS)
    row.update({k: pair_metrics.get(k) for k in FIELDS if k.startswith("feedback_")},
               flip_rate=flip_rate, arm="dpo", round=round_name,
               **_test_fields((round_metrics or {}).get("accuracy"), r0_test_accuracy))
    return row


def _test_fields(test: float | None, r0_test_accuracy: float | None) -> dict:
    return {"test_accuracy": test,
            "test_accuracy_change": None if test is None or r0_test_accuracy is None
            else test - r0_test_accuracy}


def build_break_even_rows(rows: list[dict]) -> list[dict]:
    """A vertical line at the mean break-even accuracy, spanning the rows' label changes, for
    the plot (two points with the same x)."""
    even = [r["feedback_break_even"] for r in rows if r.get("feedback_break_even") is not None]
    changes = [r["label_accuracy_change"] for r in rows]
    if not even or not changes:
        return []
    x = sum(even) / len(even)
    return [{"feedback_accuracy": x, "label_accuracy_change": min(min(changes), 0.0)},
            {"feedback_accuracy": x, "label_accuracy_change": max(max(changes), 0.0)}]


def sweep_targets(round_name: str, dpo_round: str | None, *, labels_only: bool) -> list[str]:
    """The stages each experiment runs: the ILR round's labels (and its evaluated model), and
    the DPO round's evaluated model unless ``labels_only``."""
    if labels_only:
        return [f"refine@{round_name}"]
    return [f"round_evaluate@{round_name}"] + ([f"dpo_evaluate@{dpo_round}"] if dpo_round else [])


def run_sweep(params, *, flip_rates: list[float], round_name: str, dpo_round: str | None,
              labels_only: bool, out: str | Path, echo=print) -> list[dict]:
    """Run one experiment per flip rate in the workspace, then write ``<out>/ilr.csv``,
    ``<out>/dpo.csv`` and ``<out>/break_even.csv``; returns the rows (by arm, flip rate)."""
    from ilr.core.io import read_csv, read_json, write_csv

    if round_name not in params.rounds or params.rounds[round_name].mode != "feedback":
        raise ValueError(f"--round {round_name}: not an ILR (mode: feedback) round; choose one "
                         f"of {list(params.rounds)}")
    if dpo_round is not None and dpo_round not in params.dpo_rounds:
        raise ValueError(f"--dpo-round {dpo_round}: not in dpo_rounds; choose one of "
                         f"{list(params.dpo_rounds)}")
    targets = sweep_targets(round_name, dpo_round, labels_only=labels_only)
    out = Path(out)
    rows, dpo_rows = read_csv(out / "ilr.csv"), read_csv(out / "dpo.csv")
    for rate in sweep_order(flip_rates, default=params.feedback.oracle.flip_rate):
        command = exp_run_command(rate, targets=targets)
        echo("$ " + " ".join(command))
        if subprocess.run([sys.executable, "-m", *command]).returncode != 0:
            raise RuntimeError(f"flip rate {rate}: dvc exp run failed; its output names the stage")
        r0_test = None if labels_only else read_json("metrics/rounds/r0.json")["accuracy"]
        rows = merge_sweep_rows(rows, build_sweep_row(
            rate, round_name=round_name, label_metrics=read_json(f"metrics/labels/{round_name}.json"),
            r0_label_accuracy=read_json("metrics/labels/r0.json")["label_accuracy"],
            round_metrics=None if labels_only else read_json(f"metrics/rounds/{round_name}.json"),
            r0_test_accuracy=r0_test))
        if dpo_round and not labels_only:
            dpo_rows = merge_sweep_rows(dpo_rows, build_dpo_sweep_row(
                rate, round_name=dpo_round, pair_metrics=read_json(f"metrics/dpo/pairs/{dpo_round}.json"),
                round_metrics=read_json(f"metrics/dpo/{dpo_round}.json"), r0_test_accuracy=r0_test))
        write_csv(out / "ilr.csv", rows, fields=FIELDS)
        if dpo_rows:
            write_csv(out / "dpo.csv", dpo_rows, fields=FIELDS)
        write_csv(out / "break_even.csv", build_break_even_rows(rows),
                  fields=["feedback_accuracy", "label_accuracy_change"])
    return rows + dpo_rows


def merge_sweep_rows(rows: list[dict], row: dict) -> list[dict]:
    """``rows`` with ``row`` in place of the one at its flip rate (and round), by flip rate."""
    kept = [r for r in rows if (r["flip_rate"], r["round"]) != (row["flip_rate"], row["round"])]
    return sorted(kept + [row], key=lambda r: (r["round"], r["flip_rate"]))
