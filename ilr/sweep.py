"""The feedback-reliability sweep: one experiment per oracle flip rate, and the rows that plot a
round's label-accuracy change (and test accuracy, where the round model was run) against the
accuracy its feedback actually had, with the break-even accuracy the round's items imply.

Each experiment is a `dvc exp run -S feedback.kind=oracle -S feedback.oracle.flip_rate=<f>
<targets>`, run one after another in the workspace (DVC reruns only the targets and what they
need that changed; `dvc exp show` lists them). The default flip rate runs last, so the workspace
ends as params.yaml has it.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FLIP_RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
FIELDS = ["flip_rate", "arm", "round", "feedback_accuracy", "feedback_accuracy_low",
          "feedback_accuracy_high", "feedback_auroc", "feedback_break_even", "label_accuracy",
          "label_accuracy_change", "n_fixed", "n_broken", "fixed_vs_broken_p", "test_accuracy"]


def sweep_order(flip_rates: list[float], *, default: float) -> list[float]:
    """The flip rates to run, the committed default last (when it is among them)."""
    rates = sorted(set(flip_rates))
    bad = [f for f in rates if not 0.0 <= f <= 1.0]
    if bad:
        raise ValueError(f"--flip-rates: {bad} are not probabilities in [0, 1]")
    return [f for f in rates if f != default] + ([default] if default in rates else [])


def exp_run_command(flip_rate: float, *, targets: list[str]) -> list[str]:
    return ["dvc", "exp", "run", "-S", "feedback.kind=oracle",
            "-S", f"feedback.oracle.flip_rate={flip_rate}", *targets]


def build_sweep_row(flip_rate: float, *, round_name: str, label_metrics: dict,
                    r0_label_accuracy: float, round_metrics: dict | None = None) -> dict:
    """One plotted row: the round's measured feedback accuracy and its label-accuracy change."""
    row = {k: label_metrics.get(k) for k in FIELDS}
    row.update(flip_rate=flip_rate, arm="ilr", round=round_name,
               label_accuracy_change=label_metrics["label_accuracy"] - r0_label_accuracy,
               test_accuracy=(round_metrics or {}).get("accuracy"))
    return row


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


def run_sweep(params, *, flip_rates: list[float], round_name: str, targets: list[str],
              out: str | Path, echo=print) -> list[dict]:
    """Run one experiment per flip rate in the workspace, then write ``<out>/ilr.csv`` and
    ``<out>/break_even.csv``; returns the rows (by flip rate)."""
    from ilr.io import read_json, write_csv

    if round_name not in params.rounds or params.rounds[round_name].mode != "feedback":
        raise ValueError(f"--round {round_name}: not an ILR (mode: feedback) round; choose one "
                         f"of {list(params.rounds)}")
    rows = []
    for rate in sweep_order(flip_rates, default=params.feedback.oracle.flip_rate):
        command = exp_run_command(rate, targets=targets or [f"refine@{round_name}"])
        echo("$ " + " ".join(command))
        if subprocess.run([sys.executable, "-m", *command]).returncode != 0:
            raise RuntimeError(f"flip rate {rate}: dvc exp run failed; its output names the stage")
        round_file = Path(f"metrics/rounds/{round_name}.json")
        rows.append(build_sweep_row(
            rate, round_name=round_name, label_metrics=read_json(f"metrics/labels/{round_name}.json"),
            r0_label_accuracy=read_json("metrics/labels/r0.json")["label_accuracy"],
            round_metrics=read_json(round_file) if targets and round_file.is_file() else None))
    rows.sort(key=lambda r: r["flip_rate"])
    write_csv(Path(out) / "ilr.csv", rows, fields=FIELDS)
    write_csv(Path(out) / "break_even.csv", build_break_even_rows(rows),
              fields=["feedback_accuracy", "label_accuracy_change"])
    return rows
