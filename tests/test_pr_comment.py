"""`ilr comment`: the CI run's pull-request comment, from DVC's diffs against a base revision and
the label metrics of every round (the planted run and a small git + DVC repo)."""
import json
import subprocess

import pytest
import yaml
from click.testing import CliRunner

from ilr.cli import main
from ilr.core.params import load_params
from ilr.report.pr_comment import comment_markdown, label_accuracy_rows, read_label_metrics
from tiny import GIT_USER, REPO, run


def test_label_rows_follow_the_rounds_with_the_change_from_prev(planted_run):
    root, wrong, replaced = planted_run
    params = load_params(root / "params.yaml")  # r1 (feedback) and n1 (naive), both from r0
    metrics = read_label_metrics(root / "metrics", ["r0", "r1", "n1", "r9"])
    assert set(metrics) == {"r0", "r1", "n1"}  # r9 has no file: left out
    rows = label_accuracy_rows(params.rounds, metrics)
    assert [(r["version"], r["prev"], r["mode"]) for r in rows] == [
        ("r0", None, "supervisor"), ("r1", "r0", "feedback"), ("n1", "r0", "naive")]
    r0, r1, n1 = rows
    assert r0["label_accuracy"] == 0.75 and r0["change"] is None
    # the oracle's 6 replacements fix 6 of the 10 planted mistakes: 30 -> 36 right of 40
    assert r1["n_replaced"] == r1["n_fixed"] == len(replaced) and r1["n_broken"] == 0
    assert r1["label_accuracy"] == pytest.approx(36 / 40)
    assert r1["change"] == pytest.approx(6 / 40)
    assert n1["change"] == pytest.approx(n1["label_accuracy"] - 0.75)


def test_comment_names_what_did_not_change_and_what_is_not_built():
    rows = [{"version": "r0", "prev": None, "mode": "supervisor", "label_accuracy": 0.4625,
             "change": None, "n_replaced": None, "n_fixed": None, "n_broken": None},
            {"version": "r1", "prev": "r0", "mode": "feedback", "label_accuracy": 0.485,
             "change": 0.0225, "n_replaced": 29, "n_fixed": 19, "n_broken": 10}]
    body = comment_markdown(title="t", base="main", metrics_diff="\n", params_diff="| a |",
                            label_rows=rows, missing=["r2"])
    assert "No metric changed against `main`." in body and "| a |" in body
    assert "| r0 |  | supervisor | 46.2% |  |  |  |  |" in body
    assert "| r1 | r0 | feedback | 48.5% | +2.2 pts | 29 | 19 | 10 |" in body
    assert "Not built yet (no `metrics/labels/<version>.json`): `r2`." in body


@pytest.fixture
def dvc_repo(tmp_path, planted_run, monkeypatch):
    """A git + DVC repo whose committed `main` holds the planted run's label metrics; the
    workspace then changes a param and round r1's label metrics, as a rerun would."""
    root, _, _ = planted_run
    params = yaml.safe_load((root / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for name in ("r0", "r1", "n1"):
        (tmp_path / "metrics/labels").mkdir(parents=True, exist_ok=True)
        (tmp_path / f"metrics/labels/{name}.json").write_text(
            (root / f"metrics/labels/{name}.json").read_text())
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(
        {"metrics": ["metrics/labels/r0.json", "metrics/labels/r1.json", "metrics/labels/n1.json"],
         "params": ["params.yaml"]}))
    run(["git", "init", "-q"], tmp_path)
    run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    run(["git", "add", "-A"], tmp_path)
    run(["git", *GIT_USER, "commit", "-qm", "main"], tmp_path)
    run(["git", "checkout", "-qb", "pr"], tmp_path)
    params["refine"]["alpha"] = 0.1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    r1 = json.loads((tmp_path / "metrics/labels/r1.json").read_text())
    (tmp_path / "metrics/labels/r1.json").write_text(json.dumps({**r1, "n_replaced": 4}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_ilr_comment_writes_dvc_diffs_and_label_accuracy(dvc_repo):
    result = CliRunner().invoke(main, ["comment", "--base", "main", "--out", "c.md"])
    assert result.exit_code == 0, result.output
    body = (dvc_repo / "c.md").read_text()
    metrics = body.split("### Metrics against `main`")[1].split("###")[0]
    assert "metrics/labels/r1.json" in metrics and "n_replaced" in metrics and "| 4 " in metrics
    params = body.split("### Params against `main`")[1].split("###")[0]
    assert "refine.alpha" in params and "0.15" in params and "0.1 " in params
    labels = body.split("### Label accuracy by round")[1]
    assert [line.split("|")[1].strip() for line in labels.strip().splitlines()[2:]] == ["r0", "r1", "n1"]


def test_ilr_comment_refuses_an_unknown_base_in_one_line(dvc_repo):
    result = CliRunner().invoke(main, ["comment", "--base", "no-such-branch"])
    assert result.exit_code == 1
    assert "`dvc metrics diff no-such-branch --md` failed" in result.output
    assert "Traceback" not in result.output
