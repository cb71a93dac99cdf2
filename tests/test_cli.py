"""The `ilr` command on planted runs: known replacements are listed exactly."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ilr.cli import main
from ilr.io import read_records, write_jsonl


@pytest.fixture
def run_dir(planted_run, monkeypatch):
    root, wrong, replaced = planted_run
    monkeypatch.chdir(root)
    return root, wrong, replaced


def _invoke(*args):
    result = CliRunner().invoke(main, list(args))
    return result


@pytest.mark.parametrize("command", [[], ["audit"], ["history"], ["diff"], ["report"]])
def test_every_command_has_help(command):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage: " in result.output and len(result.output) > 200


def test_audit_lists_exactly_the_replaced_labels(run_dir):
    root, wrong, replaced = run_dir
    result = _invoke("audit", "--round", "r1", "--accepted", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == replaced
    assert all(r["decision"] == "replaced" and r["old_correct"] is False and r["new_correct"]
               for r in rows)
    rejected = _invoke("audit", "--round", "r1", "--rejected", "--format", "csv").output
    assert [r["id"] for r in csv.DictReader(io.StringIO(rejected))] == wrong[6:]


def test_audit_table_ends_with_counts(run_dir):
    result = _invoke("audit", "--round", "r1")
    assert result.exit_code == 0
    assert result.output.rstrip().splitlines()[-1] == "items: 10  replaced: 6  kept: 4  fixed: 6  broken: 0"
    everything = _invoke("audit", "--format", "jsonl").output.splitlines()
    assert {json.loads(line)["round"] for line in everything} == {"r1", "n1"}


def test_audit_of_an_unknown_round_says_which_exist(run_dir):
    result = _invoke("audit", "--round", "r9")
    assert result.exit_code != 0 and "--round r9: not a round of params.yaml" in result.output
    assert "'r1'" in result.output and "'n1'" in result.output


def test_history_shows_the_round_that_fixed_a_label(run_dir):
    root, wrong, replaced = run_dir
    rows = [json.loads(line) for line in _invoke("history", replaced[0], "--format", "jsonl").output.splitlines()]
    assert [(r["version"], r["correct"]) for r in rows][:2] == [("r0", False), ("r1", True)]
    assert rows[1]["event"] == "replaced" and rows[1]["score"] == 1.0
    untouched = next(r["id"] for r in read_records(root / "data/labels/r0.jsonl") if r["id"] not in wrong)
    events = [json.loads(line)["event"] for line in _invoke("history", untouched, "--format", "jsonl").output.splitlines()]
    assert events == ["start", "kept (agreed)", "kept (agreed)"]
    missing = _invoke("history", "nobody")
    assert missing.exit_code != 0 and "in none of the label versions" in missing.output


def test_diff_between_two_rounds_counts_kinds(run_dir):
    root, wrong, replaced = run_dir
    result = _invoke("diff", "r0", "r1", "--format", "jsonl")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["id"] for r in rows) == replaced and {r["kind"] for r in rows} == {"wrong->right"}
    table = _invoke("diff", "r0", "r1").output
    assert "wrong->right: 6" in table and "n_changed: 6" in table


def _git(root, *args):
    env = {**os.environ, "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(list(args), cwd=root, env=env, check=True, capture_output=True)


def test_diff_across_git_revisions_through_dvc(planted_run, tmp_path, monkeypatch):
    """A DVC-tracked label file at HEAD~1 against the workspace, in a fresh repo."""
    source, wrong, replaced = planted_run
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("params.yaml", "data/gold/train.jsonl", "data/labels/r0.jsonl"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes((source / name).read_bytes())
    commit = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm"]
    _git(root, "git", "init", "-q")
    _git(root, "dvc", "init", "-q")
    _git(root, "dvc", "add", "-q", "data/labels/r0.jsonl")
    _git(root, "git", "add", "-A")
    _git(root, *commit, "labels v1")
    write_jsonl(root / "data/labels/r0.jsonl", read_records(source / "data/labels/r1.jsonl"))
    _git(root, "dvc", "add", "-q", "data/labels/r0.jsonl")
    _git(root, "git", "add", "-A")
    _git(root, *commit, "labels v2")
    monkeypatch.chdir(root)
    result = _invoke("diff", "r0", "r0", "--rev-a", "HEAD~1", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(line)["id"] for line in result.stdout.splitlines()) == replaced
    same = _invoke("diff", "r0", "r0", "--rev-a", "HEAD", "--rev-b", "HEAD", "--format", "jsonl")
    assert same.exit_code == 0 and same.stdout == ""
    bad = _invoke("diff", "r0", "r0", "--rev-a", "no-such-rev")
    assert bad.exit_code != 0 and "data/labels/r0.jsonl@no-such-rev: cannot read it through dvc.api" in bad.output
