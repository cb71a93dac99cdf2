"""`dvc plots show` writes a page that renders offline: the chart libraries are inline in the
project's HTML template (templates/plots.html, set in .dvc/config), not loaded from a CDN."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from browser import dump_dom, screenshot

REPO = Path(__file__).resolve().parents[1]
HEADER = "arm,round,name,test_accuracy,label_accuracy,kl"
CSVS = {"ilr": ["ilr,0,r0,0.435,0.4625,0.0", "ilr,1,r1,0.415,0.455,0.79", "ilr,2,r2,0.37,0.4025,1.65"],
        "naive": ["naive,0,r0,0.435,0.4625,0.0", "naive,1,n1,0.465,0.445,0.79"],
        "dpo": ["dpo,0,r0,0.435,,0.0", "dpo,1,d1,0.45,,0.034"]}


def _run(args, cwd):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def plots_page(tmp_path_factory):
    """A small repo with the project's DVC config, template, .gitignore and `plots:` section of
    dvc.yaml over three small CSVs; `dvc plots show` as a user runs it (no -o)."""
    root = tmp_path_factory.mktemp("plots")
    _run(["git", "init", "-q"], root)
    _run(["dvc", "init", "-q"], root)
    for name in (".dvc/config", "templates/plots.html", ".gitignore"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    plots = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    (root / "dvc.yaml").write_text(yaml.safe_dump({"plots": plots}, sort_keys=False))
    for arm, rows in CSVS.items():
        (root / f"plots/rounds/{arm}.csv").parent.mkdir(parents=True, exist_ok=True)
        (root / f"plots/rounds/{arm}.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    _run(["dvc", "plots", "show"], root)
    return root, root / "dvc_plots/index.html"


def test_the_template_embeds_the_chart_libraries():
    template = (REPO / "templates/plots.html").read_text()
    assert "{plot_divs}" in template and "{scripts}" not in template  # no CDN <script src> tags
    assert "<script src" not in template and "cdn.jsdelivr" not in template
    for library in ("vega 5.33.1", "vega-lite 5.23.0", "vega-embed 6.29.0"):
        assert f"<!-- {library} (BSD-3-Clause" in template
    config = (REPO / ".dvc/config").read_text()
    assert re.search(r"\[plots\]\s+html_template = \.\./templates/plots\.html", config)


def test_plots_show_writes_a_self_contained_page(plots_page):
    root, page = plots_page
    html = page.read_text()
    assert "cdn.jsdelivr" not in html and "<script src" not in html
    assert html.count("vegaEmbed(") >= 3  # one per plot of dvc.yaml
    assert "dvc_plots" not in _run(["git", "status", "--porcelain"], root)  # ignored


def test_plots_render_offline_in_headless_chromium(plots_page, tmp_path):
    """Chromium has no network here; the page draws every chart with its data points."""
    _, page = plots_page
    dom = dump_dom(page, tmp_path / "profile")
    titles = re.findall(r'role-title-text[^>]*>.*?<text[^>]*>([^<]*)', dom)
    assert titles == ["test accuracy by round", "label accuracy by round",
                      "test accuracy against KL from the round-0 policy"]
    assert dom.count("<svg") >= 3 and dom.count('class="mark-line role-mark') >= 2
    # the scatter's points carry their data: the r2 model (KL 1.65, test accuracy 0.37)
    assert re.search(r'aria-label="kl: 1\.65; test_accuracy: 0\.37;', dom)
    assert len(re.findall(r'aria-roledescription="point"', dom)) >= 7
    width, height = screenshot(page, tmp_path / "plots.png", tmp_path / "profile")
    assert (width, height) == (1280, 1800) and (tmp_path / "plots.png").stat().st_size > 15_000
