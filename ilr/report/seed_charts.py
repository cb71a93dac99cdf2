"""The paper's Fig. 4 from metrics/compare.json: accuracy by round for each arm over seeds,
with error bars, and the weak supervisor, SFT r0 and the gold ceiling as reference lines.

:func:`seed_chart_rows` is pure (compare.json in, chart rows out); :func:`render_seed_charts`
draws them with Altair as inline SVG, one colour per arm (:data:`ARM_COLORS`, shared with the
single-run charts of ilr/report/report.py). :func:`claim_table_rows` and :func:`pgr_table` are
the claims table (with each claim's reason) and the table of PGR, the performance gap
recovered, per seed.
"""
from __future__ import annotations

ARM_COLORS = {"sft": "#7f7f7f", "ilr": "#1f77b4", "naive": "#ff7f0e", "dpo": "#2ca02c"}
REFERENCE_LINES = {"supervisor": "weak supervisor", "r0": "SFT r0", "gold": "gold SFT (ceiling)"}
CURVE_ARMS = ("ilr", "naive", "dpo")  # each starts at round 0 from SFT r0


def _point(name: str, info: dict, metric: str, arm: str) -> dict | None:
    spread = info.get(metric)
    if not spread or spread.get("mean") is None:
        return None
    lo, hi = spread.get("ci") or (None, None)
    kl = 0.0 if name == "r0" else (info.get("kl") or {}).get("mean")  # r0: KL from itself
    return {"version": name, "arm": arm, "round": info.get("round") or 0, "mean": spread["mean"],
            "sd": spread.get("sd"), "lo": lo, "hi": hi, "kl": kl,
            "seeds": len(spread.get("per_seed") or {})}


def seed_chart_rows(compare: dict, metric: str) -> dict:
    """``{"points": [...], "references": [...]}`` for ``metric`` (test_accuracy or
    label_accuracy): a point per arm and round (mean over seeds, its bootstrap interval as
    lo/hi, sd), SFT r0 repeated as round 0 of each arm that has the metric, and the reference
    models' means."""
    versions = compare.get("versions", {})
    points, references = [], []
    for name, info in versions.items():
        if info.get("arm") in CURVE_ARMS and (p := _point(name, info, metric, info["arm"])):
            points.append(p)
    r0 = versions.get("r0")
    for arm in dict.fromkeys(p["arm"] for p in points):  # each arm's curve starts at SFT r0
        if r0 and (p := _point("r0", r0, metric, arm)) is not None:
            points.append(p)
    if metric == "test_accuracy":
        for name, label in REFERENCE_LINES.items():
            spread = (versions.get(name) or {}).get(metric) or {}
            if spread.get("mean") is not None:
                references.append({"reference": label, "mean": spread["mean"]})
    return {"points": points, "references": references}


def arm_color():
    """The arm colour encoding every chart uses."""
    import altair as alt

    return alt.Color("arm:N", scale=alt.Scale(domain=list(ARM_COLORS),
                                              range=list(ARM_COLORS.values())),
                     legend=alt.Legend(title="arm"))


def x_axis(x: str, values) -> "alt.Axis":
    """Rounds as whole numbers, one tick each (a default axis over rounds 0-1 labels its 0.5
    tick "1" under format "d"); any other x as Vega-Lite picks."""
    import altair as alt

    if x != "round":
        return alt.Axis()
    return alt.Axis(values=sorted({int(v) for v in values}), format="d")


def render_seed_chart(rows: dict, *, title: str, x: str = "round", y_title: str) -> str:
    """Inline SVG: mean by ``x`` per arm, error bars from lo to hi, dashed reference lines."""
    import altair as alt
    import pandas as pd
    import vl_convert

    points = pd.DataFrame([p for p in rows["points"] if p.get(x) is not None])
    if points.empty:
        return f"<p>No seed runs for {title} yet.</p>"
    base = alt.Chart(points)
    xenc = alt.X(f"{x}:Q", title=x, axis=x_axis(x, points[x]))
    layers = [base.mark_line(point=True).encode(
                  x=xenc, y=alt.Y("mean:Q", title=y_title, scale=alt.Scale(zero=False)),
                  color=arm_color(), tooltip=["version", "arm", "mean", "sd", "lo", "hi", "seeds"]),
              base.mark_errorbar(ticks=True).encode(x=xenc, y=alt.Y("lo:Q", title=y_title),
                                                    y2="hi:Q", color=arm_color())]
    if rows["references"]:
        refs = pd.DataFrame(rows["references"])
        layers.append(alt.Chart(refs).mark_rule(strokeDash=[5, 4]).encode(
            y="mean:Q", strokeDash=alt.StrokeDash("reference:N", legend=alt.Legend(
                title="reference (mean)"))))
    chart = alt.layer(*layers, title=title).properties(width=420, height=280)
    return vl_convert.vegalite_to_svg(chart.to_dict())


def render_seed_charts(compare: dict) -> list[str]:
    """Fig. 4: test accuracy by round, label accuracy by round, test accuracy against KL."""
    n = len(compare.get("seeds", []))
    level = compare.get("settings", {}).get("ci", "bootstrap interval")
    test = seed_chart_rows(compare, "test_accuracy")
    return [render_seed_chart(test, title=f"Test accuracy by round, {n} seeds ({level})",
                              y_title="test accuracy"),
            render_seed_chart(seed_chart_rows(compare, "label_accuracy"),
                              title=f"Label accuracy by round, {n} seeds ({level})",
                              y_title="label accuracy"),
            render_seed_chart({"points": test["points"], "references": []}, x="kl",
                              title=f"Test accuracy against KL from SFT r0, {n} seeds",
                              y_title="test accuracy")]


def claim_table_rows(compare: dict) -> list[dict]:
    """The paper's claims as table rows; a missing p-value reads as a dash, never None."""
    return [{"claim": c.get("statement", key), "status": c.get("status", "inconclusive"),
             "p": "–" if c.get("p") is None else f"{c['p']:.3g}",
             "reason": c.get("reason") or ""}
            for key, c in compare.get("claims", {}).items()]


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "–" if value is None else format(value, fmt)


def _points(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:+.1f}"


def pgr_table(compare: dict) -> dict | None:
    """PGR per seed as table rows (value, interval, the recovered and total gap in points, why a
    seed has none or how many resamples had no gap), its mean ± sd over seeds and definition;
    None for a compare.json without PGR."""
    pgr = compare.get("pgr")
    if not pgr:
        return None
    n_boot = compare.get("settings", {}).get("n_boot")
    rows = []
    for seed, e in pgr.get("per_seed", {}).items():
        note = e.get("reason") or ""
        if not note and e.get("skipped"):
            note = f"{e['skipped']} of {n_boot} resamples had no gap (skipped)"
        rows.append({"seed": seed, "pgr": _num(e.get("value")),
                     "ci": "–" if not e.get("ci") else f"{e['ci'][0]:.3f} to {e['ci'][1]:.3f}",
                     "recovered": _points(e.get("recovered")), "gap": _points(e.get("gap")),
                     "note": note})
    mean = _num(pgr.get("mean")) + ("" if pgr.get("sd") is None else f" ± {pgr['sd']:.3f}")
    return {"rows": rows, "mean": mean, "n": len(pgr.get("seeds") or []),
            "definition": pgr.get("definition", "")}
