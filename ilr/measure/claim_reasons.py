"""Each claim's ``reason`` in metrics/compare.json: one plain-English sentence from the data behind
the verdict, so the report's claims table says why, not only what.

It reports the pooled difference in points with its interval and p, each seed's difference and
how many seeds point the paper's way, then what decided the status: significance for the tests,
the interval's upper end against the margin for "DPO does not beat SFT", and for an
inconclusive claim whether the interval includes 0 and which way the pooled estimate points.
The verdict itself comes from :func:`ilr.measure.compare._judge` by the claim rule; nothing
here changes it. :func:`claim_reason` is pure: a comparison entry and the verdict in, a string
out.
"""
from __future__ import annotations

MISSING = "models missing in every run"


def points(diff: float) -> str:
    """A difference of accuracies (shares) in percentage points, signed: +1.2, -0.4, 0.0."""
    value = round(100 * diff, 1)
    return "0.0" if value == 0 else f"{value:+.1f}"


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.2g}"


def per_seed_text(entry: dict, *, direction: int) -> str:
    """"seed0 +1.2, seed1 -0.4 points; 1 of 2 seeds in the paper's direction" (direction -1:
    a < b is the paper's, 0: a not above b), and the seeds with the models missing."""
    diffs = {s: t["diff"] for s, t in entry["per_seed"].items()}
    agree = sum((d < 0) if direction < 0 else (d > 0) if direction > 0 else (d <= 0)
                for d in diffs.values())
    text = (", ".join(f"{s} {points(d)}" for s, d in diffs.items()) + " points; "
            f"{agree} of {len(diffs)} seed{'s' * (len(diffs) != 1)} in the paper's direction")
    if direction == 0:
        text += f" ({entry['a']} not above {entry['b']})"
    if entry.get("missing_seeds"):
        text += f"; models missing in {', '.join(entry['missing_seeds'])}"
    return text


def claim_reason(entry: dict | None, *, status: str, p: float | None, direction: int,
                 alpha: float, margin: float | None = None) -> str:
    """Why ``entry`` (a comparison of compare.json: a, b, kind, diff, diff_ci, p, role,
    per_seed) got ``status`` under the claim rule. ``p`` is the p-value the rule used (Holm-
    adjusted unless primary); ``direction`` +1 when the paper says a > b, -1 when a < b;
    ``margin`` set for the claim of no gain of a over b."""
    if entry is None:
        return MISSING
    low, high = entry["diff_ci"]
    level = f"{1 - alpha:.0%}"
    adjusted = ("primary, unadjusted" if entry["role"] == "primary"
                else f"Holm-adjusted; {_p(entry['p'])} before")
    what = "label accuracy" if entry["kind"] == "labels" else "test accuracy"
    text = (f"{entry['a']} - {entry['b']} {what} {points(entry['diff'])} points pooled "
            f"({level} CI {points(low)} to {points(high)}), p = {_p(p)} ({adjusted}); "
            f"{per_seed_text(entry, direction=0 if margin is not None else direction)}. ")
    zero = f"the CI {'includes' if low <= 0 <= high else 'excludes'} 0"
    if margin is not None:
        if status == "not reproduced":
            return text + f"{entry['a']} is significantly better (p < {alpha:g})."
        if status == "reproduced":
            return text + (f"The CI's upper end {points(high)} is within the margin of "
                           f"{points(margin)} points and {entry['a']} is not significantly "
                           "better.")
        return text + (f"The CI's upper end {points(high)} exceeds the margin of "
                       f"{points(margin)} points, so a gain above the margin is not ruled out; "
                       f"{entry['a']} is not significantly better either ({zero}).")
    if status in ("reproduced", "not reproduced"):
        way = "in" if status == "reproduced" else "against"
        return text + (f"Significant {way} the paper's direction (p < {alpha:g})"
                       + (f"; {zero}, though." if low <= 0 <= high else "."))
    diff = entry["diff"]
    lean = ("is 0" if diff == 0 else "points the paper's way"
            if (diff > 0) == (direction > 0) else "points against the paper")
    return text + f"Not significant (p >= {alpha:g}); {zero} and the pooled estimate {lean}."
