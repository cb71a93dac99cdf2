"""How reliable a comparison feedback is, from items whose right answer is known.

Pure functions over decisions: ``want`` (should the proposal win?) and a score in [0, 1] (the
proposal wins when > 0.5, as in the decision rule). Accuracy comes with a Wilson interval and
AUROC (scikit-learn); a round's fixed and broken labels with an exact sign test; the break-even
accuracy is the one at which accepting proposals neither raises nor lowers label accuracy.
"""
from __future__ import annotations

import math


def wilson_interval(successes: float, n: int, *, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def measure_decisions(wants: list[bool], scores: list[float], *, n_independent: int | None = None,
                      prefix: str = "") -> dict:
    """Accuracy (score > 0.5 agrees with ``want``), its Wilson interval over ``n_independent``
    trials (default: every decision) and AUROC of the scores; None where undefined."""
    from sklearn.metrics import roc_auc_score

    if len(wants) != len(scores):
        raise ValueError(f"{len(wants)} wanted outcomes for {len(scores)} scores")
    n = len(wants)
    accuracy = sum((s > 0.5) == w for w, s in zip(wants, scores)) / n if n else None
    trials = n if n_independent is None else n_independent
    interval = wilson_interval(accuracy * trials, trials) if accuracy is not None else None
    auroc = (float(roc_auc_score([int(w) for w in wants], scores))
             if 0 < sum(wants) < n else None)
    return {f"{prefix}accuracy": accuracy, f"{prefix}n": n,
            f"{prefix}accuracy_low": interval[0] if interval else None,
            f"{prefix}accuracy_high": interval[1] if interval else None,
            f"{prefix}auroc": auroc}


def sign_test(n_fixed: int, n_broken: int) -> float | None:
    """Two-sided exact p-value that fixes and breaks are equally likely (None with neither)."""
    from scipy.stats import binomtest

    n = n_fixed + n_broken
    return float(binomtest(n_fixed, n, 0.5).pvalue) if n else None


def measure_round_feedback(audit: list[dict]) -> dict:
    """Per round, from its audit: the feedback on compared items where exactly one side is right
    (accuracy, Wilson interval, AUROC), the break-even accuracy those items imply (the share of
    them where the label is the right one), and the sign test of fixed against broken."""
    decided = [a for a in audit
               if a["old_correct"] is not None and a["old_correct"] != a["new_correct"]]
    scored = [a for a in decided if a.get("score") is not None]  # none in a naive round
    fixed = sum(bool(a["accepted"] and a["new_correct"]) for a in decided)
    broken = sum(bool(a["accepted"] and a["old_correct"]) for a in decided)
    metrics = measure_decisions([bool(a["new_correct"]) for a in scored],
                                [a["score"] for a in scored], prefix="feedback_")
    metrics["feedback_break_even"] = (sum(bool(a["old_correct"]) for a in decided) / len(decided)
                                      if decided else None)
    metrics["fixed_vs_broken_p"] = sign_test(fixed, broken)
    return metrics
