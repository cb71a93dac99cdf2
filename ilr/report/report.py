"""`ilr report`: one static HTML page for a run, from the versioned outputs of `dvc repro`.

Charts are Altair (Vega-Lite) specs rendered to inline SVG by vl-convert, so the page needs
no JavaScript or network to display: it opens the same in a browser, a CI artifact viewer or
headless Chromium.
"""
from __future__ import annotations

import html
import random
from pathlib import Path

from ilr.core.io import atomic_path, read_csv, read_json, read_jsonl
from ilr.core.params import Params
from ilr.method.rounds import ROUND_ZERO, round_depth
from ilr.report.audit import build_audit_rows, order_versions
from ilr.report.seed_charts import (arm_color, claim_table_rows, pgr_table, render_seed_charts,
                                    x_axis)
from ilr.report.summary import ARMS, FIELDS, dpo_depth, merge_round_metrics
from ilr.tasks.task import Task

ROUND_COLUMNS = ["version", "arm", "round", "test_accuracy", "label_accuracy", "n_compared",
                 "n_replaced", "share_replaced", "replacement_precision", "n_fixed", "n_broken"]


def _maybe_json(path: Path) -> dict | None:
    return read_json(path) if path.is_file() else None


def collect_run(params: Params, *, task: Task, root: str | Path = ".", samples: int = 5,
                seed: int = 0, summary_rows: list[dict] | None = None) -> dict:
    """Everything the page shows, read from the run's metrics and audit files under ``root``;
    the summary rows are the ones given (the `report` stage builds them in memory) or, for
    `ilr report`, read from reports/summary.json."""
    root = Path(root)
    r0_test = _maybe_json(root / f"metrics/rounds/{ROUND_ZERO}.json")
    r0_labels = _maybe_json(root / f"metrics/labels/{ROUND_ZERO}.json")
    rounds = []
    if r0_test and r0_labels:
        for arm in dict.fromkeys(ARMS.values()):  # each arm once (two modes share "naive")
            rounds.append({"version": ROUND_ZERO, "arm": arm, "round": 0,
                           "test_accuracy": r0_test["accuracy"],
                           "label_accuracy": r0_labels["label_accuracy"]})
    dpo = {name: m for name in params.dpo_rounds
           if (m := _maybe_json(root / f"metrics/dpo/{name}.json"))}
    if dpo and r0_test:  # DPO keeps the labels: its rounds are on the test chart only
        rounds.append({"version": ROUND_ZERO, "arm": "dpo", "round": 0,
                       "test_accuracy": r0_test["accuracy"], "label_accuracy": None})
    rounds += [{"version": name, "arm": "dpo", "round": dpo_depth(params.dpo_rounds, name),
                "test_accuracy": m["accuracy"], "label_accuracy": None} for name, m in dpo.items()]
    audits = {}
    for name in order_versions(params.rounds)[1:]:
        found = {kind: {name: m} if (m := _maybe_json(root / f"metrics/{kind}/{name}.json")) else {}
                 for kind in ("labels", "rounds")}
        # label metrics stand until the round model is evaluated
        metrics = merge_round_metrics(found["labels"], found["rounds"]).get(name)
        if metrics:
            rounds.append({**metrics, "version": name, "arm": ARMS[params.rounds[name].mode],
                           "round": round_depth(params.rounds, name)})
        if (root / f"data/audit/{name}.jsonl").is_file():
            audits[name] = read_jsonl(root / f"data/audit/{name}.jsonl", allow_empty=True)
    baselines = {name: m["accuracy"] for name in ("base", "supervisor", "gold")
                 if (m := _maybe_json(root / f"metrics/{name}.json"))}
    if r0_test:
        baselines[ROUND_ZERO] = r0_test["accuracy"]
    quality = [read_json(p) for p in sorted((root / "metrics/quality").glob("*.json"))]
    if summary_rows is None:  # every arm with KL, from the `report` stage
        summary_rows = list((_maybe_json(root / "reports/summary.json") or {}).values())
    rng = random.Random(seed)
    picked = {"replaced": [], "kept": []}
    for name, audit in audits.items():
        rows = build_audit_rows(audit, task=task, round_name=name)
        for kind in picked:
            picked[kind] += [r for r in rows if r["decision"] == kind]
    return {"rounds": rounds, "baselines": baselines, "quality": quality,
            "summary": [{k: row.get(k) for k in FIELDS} for row in summary_rows],
            "samples": {kind: rng.sample(rows, min(samples, len(rows)))
                        for kind, rows in picked.items()},
            "feedback": _maybe_json(root / "metrics/feedback.json"),
            "compare": _maybe_json(root / "metrics/compare.json"),
            "sweep": read_csv(root / "plots/sweep/ilr.csv") + read_csv(root / "plots/sweep/dpo.csv")}


def write_report(params: Params, *, task: Task, out: str | Path, root: str | Path = ".",
                 samples: int = 5, summary_rows: list[dict] | None = None) -> None:
    """Collect the run under ``root`` and write its HTML page to ``out`` atomically (used by
    the `report` stage and by `ilr report`)."""
    page = render_report(collect_run(params, task=task, root=root, samples=samples,
                                     summary_rows=summary_rows))
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")


def render_chart(rows: list[dict], *, y: str, title: str, x: str = "round",
                 rule_x: float | None = None) -> str:
    """An inline SVG line chart of ``y`` by ``x``, one line per arm (and a dashed vertical rule
    at ``rule_x``)."""
    import altair as alt
    import pandas as pd
    import vl_convert

    data = pd.DataFrame([r for r in rows if r.get(y) is not None])
    if data.empty:
        return f"<p>No data for {html.escape(title)} yet.</p>"
    chart = alt.Chart(data, title=title).mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=x, axis=x_axis(x, data[x])), y=alt.Y(f"{y}:Q", title=y.replace("_", " ")),
        color=arm_color(), tooltip=list(data.columns[:6])).properties(width=420, height=260)
    if rule_x is not None:
        chart = chart + alt.Chart(pd.DataFrame({x: [rule_x]})).mark_rule(strokeDash=[4, 4]).encode(
            x=f"{x}:Q")
    return vl_convert.vegalite_to_svg(chart.to_dict())


def render_report(run: dict) -> str:
    """The HTML page (a Jinja2 template with inline SVG charts and plain tables)."""
    import jinja2

    charts = [render_chart(run["rounds"], y="test_accuracy", title="Test accuracy by round"),
              render_chart(run["rounds"], y="label_accuracy", title="Label accuracy by round")]
    summary_rows = run["summary"]
    if any(r.get("kl") is not None for r in summary_rows):
        charts.append(render_chart(summary_rows, y="test_accuracy", x="kl",
                                   title="Test accuracy against KL from the round-0 policy"))
    if any(r.get("test_accuracy") is not None for r in run.get("sweep") or []):
        charts.append(render_chart(run["sweep"], y="test_accuracy", x="feedback_accuracy",
                                   title="Test accuracy against feedback accuracy, by arm "
                                         "(ilr sweep)"))
    if run.get("sweep"):
        charts.append(render_chart(run["sweep"], y="label_accuracy_change", x="feedback_accuracy",
                                   rule_x=_mean_break_even(run["sweep"]),
                                   title="Label accuracy change against feedback accuracy "
                                         f"(dashed: break-even {_mean_break_even(run['sweep']):.2f})"))
    compare = run.get("compare")
    seeds = ({"n": len(compare.get("seeds", [])), "charts": render_seed_charts(compare),
              "claims": claim_table_rows(compare), "pgr": pgr_table(compare)} if compare else None)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(run=run, charts=charts, columns=ROUND_COLUMNS,
                                            summary_rows=summary_rows, seeds=seeds)


def _mean_break_even(rows: list[dict]) -> float:
    even = [r["feedback_break_even"] for r in rows if r.get("feedback_break_even") is not None]
    return sum(even) / len(even) if even else float("nan")


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ILR run report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; font-family: monospace; }
.charts { display: flex; flex-wrap: wrap; gap: 2em; } .fail { color: #b00; }
</style></head><body>
<h1>ILR run report</h1>
<p>Baselines (test accuracy):
{% for name, acc in run.baselines.items() %}<b>{{ name }}</b> {{ "%.3f"|format(acc) }}{% if not loop.last %}, {% endif %}{% endfor %}.
{% if run.feedback %}{% set fb = run.feedback.decided or {} %}Feedback ({{ run.feedback.kind }}) accuracy where gold decides:
{{ fb.accuracy if fb.accuracy is none else "%.3f"|format(fb.accuracy) }}.{% endif %}</p>
{% if seeds %}<h2>Over {{ seeds.n }} seeds (metrics/compare.json)</h2>
<div class="charts" id="seed-charts">{% for chart in seeds.charts %}<figure class="chart">{{ chart|safe }}</figure>{% endfor %}</div>
<table id="claims"><tr><th>the paper's claim</th><th>here</th><th>p</th><th>why</th></tr>
{% for c in seeds.claims %}<tr><td class="text">{{ c.claim }}</td><td class="text">{{ c.status }}</td><td>{{ c.p }}</td><td class="text">{{ c.reason }}</td></tr>{% endfor %}
</table>
{% if seeds.pgr %}<h3>Performance gap recovered by SFT r0 (PGR)</h3>
<p>{{ seeds.pgr.definition }}. Mean ± sd over the {{ seeds.pgr.n }} seeds with a value: {{ seeds.pgr.mean }}.</p>
<table id="pgr"><tr><th>seed</th><th>PGR</th><th>CI</th><th>r0 &minus; supervisor (points)</th><th>gold &minus; supervisor (points)</th><th>note</th></tr>
{% for r in seeds.pgr.rows %}<tr><td class="text">{{ r.seed }}</td><td>{{ r.pgr }}</td><td>{{ r.ci }}</td><td>{{ r.recovered }}</td><td>{{ r.gap }}</td><td class="text">{{ r.note }}</td></tr>{% endfor %}
</table>{% endif %}{% endif %}
<h2>Accuracy by round{% if seeds %} ({{ run.compare.seeds[0] }}, the main run){% endif %}</h2>
<div class="charts" id="charts">{% for chart in charts %}<figure class="chart">{{ chart|safe }}</figure>{% endfor %}</div>
<table id="rounds"><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in run.rounds %}<tr>{% for c in columns %}{% set v = row.get(c) %}
<td>{% if v is none %}&ndash;{% elif v is float %}{{ "%.3f"|format(v) }}{% else %}{{ v }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if summary_rows %}<h2>SFT, ILR and SFT+DPO</h2>
<table id="summary"><tr>{% for c in summary_rows[0] %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in summary_rows %}<tr>{% for v in row.values() %}<td>{% if v is none %}&ndash;{% elif v is float %}{{ "%.3f"|format(v) }}{% else %}{{ v }}{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table>{% endif %}
<h2>Data quality</h2>
<table id="quality"><tr><th>version</th><th>rows</th><th>passed</th><th>warnings</th></tr>
{% for q in run.quality %}<tr><td class="text">{{ q.version }}</td><td>{{ q.n }}</td>
<td class="{{ '' if q.success else 'fail' }}">{{ q.success }}</td><td>{{ q.warnings }}</td></tr>{% endfor %}
</table>
{% for kind, rows in run.samples.items() %}<h2>Sample of {{ kind }} labels</h2>
<table id="sample-{{ kind }}"><tr><th>round</th><th>id</th><th>old answer</th><th>new answer</th>
<th>score</th><th>old correct</th><th>new correct</th></tr>
{% for r in rows %}<tr><td class="text">{{ r.round }}</td><td class="text">{{ r.id }}</td>
<td>{{ r.old_answer }}</td><td>{{ r.new_answer }}</td>
<td>{{ "&ndash;"|safe if r.score is none else "%.4f"|format(r.score) }}</td>
<td>{{ r.old_correct }}</td><td>{{ r.new_correct }}</td></tr>{% endfor %}
</table>{% endfor %}
</body></html>
"""
