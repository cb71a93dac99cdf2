"""`ilr report` on a planted run, opened in headless Chromium."""
import os

import pytest
from browser import dump_dom, screenshot
from click.testing import CliRunner

from ilr.cli import main


@pytest.fixture(scope="module")
def report_page(planted_run):
    root, _, _ = planted_run
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(main, ["report", "--out", "reports/ilr.html", "--samples", "3"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return root / "reports/ilr.html"


def test_report_holds_charts_tables_and_samples(report_page, planted_run):
    _, _, replaced = planted_run
    page = report_page.read_text()
    assert page.count("<svg") >= 2 and "Test accuracy by round" in page
    for table in ('id="rounds"', 'id="quality"', 'id="sample-replaced"', 'id="sample-kept"'):
        assert table in page
    assert sum(i in page for i in replaced) >= 1  # a sample of r1's known replacements
    assert "<script" not in page  # static: no JavaScript, no network


def test_report_renders_in_headless_chromium(report_page, tmp_path):
    assert screenshot(report_page, tmp_path / "report.png", tmp_path / "profile") == (1280, 1800)
    assert (tmp_path / "report.png").stat().st_size > 30_000  # not a blank page
    dom = dump_dom(report_page, tmp_path / "profile")
    assert dom.count("<svg") >= 2  # the charts are in the rendered page
    for table in ("rounds", "quality", "sample-replaced", "sample-kept"):
        assert f'id="{table}"' in dom


def test_round_zero_is_listed_once_per_arm_and_missing_values_are_dashes(tmp_path):
    from ilr.core.io import write_json
    from ilr.core.params import Params, RoundParams
    from ilr.report.report import collect_run, render_report
    from ilr.tasks.task import task_from_params

    write_json(tmp_path / "metrics/rounds/r0.json", {"accuracy": 0.4})
    write_json(tmp_path / "metrics/labels/r0.json", {"label_accuracy": 0.5})
    params = Params(rounds={"n1": RoundParams(prev="r0", mode="naive"),
                            "m1": RoundParams(prev="r0", mode="naive_reference")})
    run = collect_run(params, task=task_from_params(params.task), root=tmp_path,
                      summary_rows=[{"arm": "dpo", "name": "d1", "label_accuracy": None}])
    assert [(r["version"], r["arm"]) for r in run["rounds"]] == [("r0", "ilr"), ("r0", "naive")]
    page = render_report(run)
    assert "None" not in page.split('id="summary"')[1].split("</table>")[0]


def test_dpo_rounds_are_on_the_test_chart_from_round_zero(tmp_path):
    """Iterative DPO rounds (d2 from d1) are points 0, 1, 2 of the dpo arm's test accuracy;
    DPO keeps the labels, so the label chart has no dpo row."""
    from ilr.core.io import write_json
    from ilr.core.params import DpoRoundParams, Params, RoundParams
    from ilr.report.report import collect_run
    from ilr.tasks.task import task_from_params

    write_json(tmp_path / "metrics/rounds/r0.json", {"accuracy": 0.4})
    write_json(tmp_path / "metrics/labels/r0.json", {"label_accuracy": 0.5})
    write_json(tmp_path / "metrics/dpo/d1.json", {"accuracy": 0.41})
    write_json(tmp_path / "metrics/dpo/d2.json", {"accuracy": 0.43})
    params = Params(rounds={"r1": RoundParams(prev="r0")},
                    dpo_rounds={"d1": DpoRoundParams(policy="models/sft/r0"),
                                "d2": DpoRoundParams(policy="models/dpo/d1")})
    run = collect_run(params, task=task_from_params(params.task), root=tmp_path, summary_rows=[])
    dpo = [(r["version"], r["round"], r["test_accuracy"], r["label_accuracy"])
           for r in run["rounds"] if r["arm"] == "dpo"]
    assert dpo == [("r0", 0, 0.4, None), ("d1", 1, 0.41, None), ("d2", 2, 0.43, None)]
