"""`ilr report` on a planted run, opened in headless Chromium."""
import os
import shutil
import struct
import subprocess

import pytest
from click.testing import CliRunner

from ilr.cli import main


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("ILR_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required here (ILR_REQUIRE_CHROMIUM) but not installed")
        pytest.skip("chromium not installed (Debian: apt-get install chromium)")
    return found


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


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_report_renders_in_headless_chromium(report_page, tmp_path):
    chromium = _chromium()
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1280,1800",
                            report_page.as_uri()], check=True, capture_output=True, timeout=120)
    assert _png_size(shot) == (1280, 1800) and shot.stat().st_size > 30_000  # not a blank page
    dom = subprocess.run(flags + ["--dump-dom", report_page.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<svg") >= 2  # the charts are in the rendered page
    for table in ("rounds", "quality", "sample-replaced", "sample-kept"):
        assert f'id="{table}"' in dom


def test_round_zero_is_listed_once_per_arm_and_missing_values_are_dashes(tmp_path):
    from ilr.io import write_json
    from ilr.params import Params, RoundParams
    from ilr.report import collect_run, render_report
    from ilr.tasks import task_from_params

    write_json(tmp_path / "metrics/r0.json", {"accuracy": 0.4})
    write_json(tmp_path / "metrics/labels/r0.json", {"label_accuracy": 0.5})
    params = Params(rounds={"n1": RoundParams("r0", "naive"), "m1": RoundParams("r0", "naive_reference")})
    run = collect_run(params, task=task_from_params(params.task), root=tmp_path,
                      summary_rows=[{"arm": "dpo", "name": "d1", "label_accuracy": None}])
    assert [(r["version"], r["arm"]) for r in run["rounds"]] == [("r0", "ilr"), ("r0", "naive")]
    page = render_report(run)
    assert "None" not in page.split('id="summary"')[1].split("</table>")[0]
