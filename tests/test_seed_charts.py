"""Fig. 4 over seeds (ilr/report/seed_charts.py) on synthetic three-seed runs with planted effects,
and the report page that carries it, opened in headless Chromium."""
import os
import shutil

import pytest
from browser import dump_dom, screenshot
from click.testing import CliRunner
from test_compare import runs

from ilr.cli import main
from ilr.core.io import write_json
from ilr.measure.compare import compare_runs
from ilr.measure.run_folders import load_run
from ilr.report.seed_charts import (ARM_COLORS, claim_table_rows, pgr_table, render_seed_charts,
                                   seed_chart_rows)


@pytest.fixture(scope="module")
def three_seeds(tmp_path_factory):
    folders = runs(tmp_path_factory.mktemp("seeds"))
    return compare_runs({s: load_run(p) for s, p in folders.items()}, n_boot=300, seed=0)


def test_each_arm_has_a_point_per_round_with_its_interval(three_seeds):
    rows = seed_chart_rows(three_seeds, "test_accuracy")
    by = {(p["arm"], p["round"]): p for p in rows["points"]}
    assert set(by) == {(arm, r) for arm in ("ilr", "naive", "dpo") for r in (0, 1)}
    assert by[("ilr", 0)]["version"] == by[("dpo", 0)]["version"] == "r0"  # SFT r0 starts each
    assert by[("ilr", 1)]["mean"] == pytest.approx(0.60) and by[("dpo", 1)]["mean"] == pytest.approx(0.50)
    for p in rows["points"]:
        assert p["seeds"] == 3 and p["lo"] <= p["mean"] <= p["hi"] and p["hi"] - p["lo"] > 0.01
    assert {r["reference"]: round(r["mean"], 2) for r in rows["references"]} == {
        "weak supervisor": 0.40, "SFT r0": 0.55, "gold SFT (ceiling)": 0.70}
    labels = seed_chart_rows(three_seeds, "label_accuracy")
    assert {p["arm"] for p in labels["points"]} == {"ilr", "naive"} and labels["references"] == []


def test_the_round_axis_labels_each_round_once(three_seeds):
    """Rounds 0 and 1 tick as 0 and 1 (Vega-Lite's default axis added a 0.5 tick that format
    "d" labelled 1, so the round axis read 0, 1, 1)."""
    import re

    by_round, by_label, _ = render_seed_charts(three_seeds)
    for svg in (by_round, by_label):
        axis = svg[svg.index('aria-label="X-axis'):]
        ticks = re.findall(r">(-?[\d.]+)</text>", axis[:axis.index("</g></g>")])
        assert ticks == ["0", "1"], ticks


def test_claims_table_has_no_none(three_seeds):
    rows = claim_table_rows({**three_seeds, "claims": {
        **three_seeds["claims"], "missing": {"statement": "x", "status": "inconclusive", "p": None}}})
    assert {r["status"] for r in rows} <= {"reproduced", "not reproduced", "inconclusive"}
    assert rows[-1]["p"] == "–" and all("None" not in str(r) for r in rows)


def test_every_claim_row_says_why(three_seeds):
    for row in claim_table_rows(three_seeds):
        assert row["reason"] and "points pooled" in row["reason"], row
        assert all(f"seed{s} " in row["reason"] for s in range(3)), row


def test_pgr_table_has_a_row_per_seed_and_says_why_one_has_none(three_seeds):
    table = pgr_table(three_seeds)  # planted: (0.55 - 0.40) / (0.70 - 0.40) = 0.5 in each seed
    assert [r["seed"] for r in table["rows"]] == ["seed0", "seed1", "seed2"]
    assert {(r["pgr"], r["recovered"], r["gap"]) for r in table["rows"]} == {
        ("0.500", "+15.0", "+30.0")}
    assert table["mean"] == "0.500 ± 0.000" and table["n"] == 3
    low, high = table["rows"][0]["ci"].split(" to ")
    assert float(low) < 0.5 < float(high)
    pgr = three_seeds["pgr"]
    flat = {**pgr, "seeds": ["seed0"], "sd": None, "per_seed": {
        "seed0": pgr["per_seed"]["seed0"],
        "seed1": {"value": None, "ci": None, "gap": 0.0, "recovered": 0.01,
                  "reason": "gold is not above the supervisor in this seed"}}}
    table = pgr_table({**three_seeds, "pgr": flat})
    assert table["mean"] == "0.500" and table["rows"][1]["pgr"] == table["rows"][1]["ci"] == "–"
    assert table["rows"][1]["note"] == "gold is not above the supervisor in this seed"
    assert pgr_table({k: v for k, v in three_seeds.items() if k != "pgr"}) is None


def test_the_report_shows_pgr_and_each_claims_reason(three_seeds, tmp_path):
    from ilr.core.params import Params
    from ilr.report.report import collect_run, render_report
    from ilr.tasks.task import task_from_params

    write_json(tmp_path / "metrics/compare.json", three_seeds)
    params = Params()
    page = render_report(collect_run(params, task=task_from_params(params.task), root=tmp_path,
                                     summary_rows=[]))
    claims = page[page.index('id="claims"'):page.index('id="pgr"')]
    assert claims.count("points pooled") == len(three_seeds["claims"])
    pgr = page[page.index('id="pgr"'):].split("</table>")[0]
    assert pgr.count("<tr>") == 4 and pgr.count("<td>0.500</td>") == 3
    assert "performance gap recovered" in page.lower() and "None" not in pgr


def test_the_report_draws_error_bars_legends_and_references(three_seeds, planted_run, tmp_path):
    root = tmp_path / "run"
    shutil.copytree(planted_run[0], root)
    write_json(root / "metrics/compare.json", three_seeds)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(main, ["report", "--out", "reports/ilr.html"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    page = root / "reports/ilr.html"
    assert screenshot(page, tmp_path / "report.png", tmp_path / "profile") == (1280, 1800)
    dom = dump_dom(page, tmp_path / "profile")
    seeds = dom[dom.index('id="seed-charts"'):dom.index('id="claims"')]
    assert seeds.count("<svg") == 3
    assert seeds.count('aria-roledescription="errorbar"') >= 2 * 6  # both accuracy charts
    assert seeds.count("role-legend-entry") >= 3 and "weak supervisor" in seeds and "gold SFT" in seeds
    for arm, colour in ARM_COLORS.items():  # one colour per arm, on every chart with that arm
        if arm != "sft":
            assert colour in seeds
    claims = dom[dom.index('id="claims"'):]
    assert "SFT r0 beats the weak supervisor" in claims and ">None<" not in dom
    assert "points pooled" in claims and 'id="pgr"' in claims
