"""The `ilr` command on planted runs: known replacements are listed exactly."""
import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ilr.cli import main
from ilr.core.io import read_records, write_jsonl

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_dir(planted_run, monkeypatch):
    root, wrong, replaced = planted_run
    monkeypatch.chdir(root)
    return root, wrong, replaced


def _invoke(*args):
    result = CliRunner().invoke(main, list(args))
    return result


@pytest.mark.parametrize("command", [[], ["audit"], ["history"], ["diff"], ["report"],
                                     ["summary"], ["quick"], ["compare"], ["judge"],
                                     ["judge", "export"], ["judge", "import"]])
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


# a clone whose params name rounds that were never run: their label and audit files are missing

def _one_line_with_both_remedies(text: str):
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "missing here (committed with each run)" in lines[0] and "`git checkout HEAD -- " in lines[0]
    assert re.search(r"`dvc repro [^`]+` \(about [\d.]+ (minutes|hours) on 2 CPU cores\)", lines[0])
    return lines[0]


FRESH_ROUNDS = {"r1": {"prev": "r0"}, "r2": {"prev": "r1"}, "r3": {"prev": "r2"},
                "n1": {"prev": "r0", "mode": "naive"}, "n2": {"prev": "n1", "mode": "naive"},
                "n3": {"prev": "n2", "mode": "naive"}}


@pytest.fixture
def fresh_clone(tmp_path, monkeypatch):
    """A clone's params with three ILR, three naive and three DPO rounds."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["rounds"] = FRESH_ROUNDS
    params["propose"]["versions"] = ["r0", "r1", "r2", "n1", "n2"]
    params["dpo_rounds"] = {"d1": {"policy": "models/sft/r0"}, "d2": {"policy": "models/dpo/d1"},
                            "d3": {"policy": "models/dpo/d2"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command, names", [
    (["audit"], "data/audit/{r1,r2,r3,n1,n2,n3}.jsonl"),
    (["audit", "--round", "r2"], "data/audit/r2.jsonl"),
    (["history", "arith-train-00024"], "data/labels/{r0,r1,r2,r3,n1,n2,n3}.jsonl"),
    (["diff", "r0", "r1"], "data/labels/{r0,r1}.jsonl"),
    (["diff", "r1", "r1", "--rev-a", "HEAD~1"], "data/labels/r1.jsonl")])
def test_a_fresh_clone_gets_one_line_naming_the_missing_outputs(fresh_clone, command, names):
    result = _invoke(*command)
    assert result.exit_code != 0
    line = _one_line_with_both_remedies(result.output)
    assert line.startswith(f"Error: ilr {command[0]}: {names} missing")


def test_the_remedies_name_the_stages_and_their_cost(fresh_clone):
    line = _invoke("audit", "--round", "r2").output
    assert "`git checkout HEAD -- data/audit/r2.jsonl`" in line
    assert "`dvc repro refine@r2` (about 20 minutes" in line
    line = _invoke("diff", "r0", "r1").output  # r0's labels come from the supervise stage
    assert "`dvc repro supervise refine@r1`" in line and "(about 15 minutes" in line
    line = _invoke("audit").output  # every round: the foreach group
    assert "`dvc repro refine` (about 45 minutes" in line


def test_report_in_a_clone_without_audits_says_what_the_page_lacks(planted_run, tmp_path, monkeypatch):
    root = tmp_path / "clone"
    shutil.copytree(planted_run[0], root)
    shutil.rmtree(root / "data/audit")
    monkeypatch.chdir(root)
    result = _invoke("report", "--out", "reports/ilr.html")
    assert result.exit_code == 0 and (root / "reports/ilr.html").is_file()
    assert result.stdout == "wrote reports/ilr.html\n"
    line = _one_line_with_both_remedies(result.stderr)
    assert line.startswith("ilr report (written without sample replacements): data/audit/{r1,n1}.jsonl missing")


def test_audit_of_every_round_with_one_missing_lists_the_others(run_dir, tmp_path):
    root, wrong, replaced = run_dir
    result = _invoke("audit", "--audit-dir", str(tmp_path), "--format", "jsonl")
    assert result.exit_code != 0 and "{r1,n1}.jsonl missing" in result.output
    shutil.copy(root / "data/audit/r1.jsonl", tmp_path / "r1.jsonl")
    result = _invoke("audit", "--audit-dir", str(tmp_path), "--format", "jsonl")
    assert result.exit_code == 0
    assert {json.loads(line)["round"] for line in result.stdout.splitlines()} == {"r1"}
    assert _one_line_with_both_remedies(result.stderr).startswith(f"ilr audit: {tmp_path}/n1.jsonl missing")


def test_summary_is_one_row_per_arm_and_round(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entries = {"dpo/d1": {"arm": "dpo", "round": 1, "name": "d1", "test_accuracy": 0.45, "kl": 0.03,
                          "label_accuracy": None},
               "ilr/r1": {"arm": "ilr", "round": 1, "name": "r1", "test_accuracy": 0.435,
                          "label_accuracy": 0.455, "kl": 0.79, "n_fixed": 8, "n_broken": 11},
               "sft/r0": {"arm": "sft", "round": 0, "name": "r0", "test_accuracy": 0.435,
                          "label_accuracy": 0.4625, "kl": 0.0}}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "reports").mkdir(exist_ok=True)
    (tmp_path / "reports/summary.json").write_text(json.dumps(entries))
    rows = [json.loads(line) for line in _invoke("summary", "--format", "jsonl").output.splitlines()]
    assert [r["name"] for r in rows] == ["r0", "r1", "d1"]
    assert rows[1]["n_broken"] == 11 and rows[2]["label_accuracy"] is None
    table = _invoke("summary").output.splitlines()
    assert table[0].split()[:5] == ["arm", "round", "name", "label_accuracy", "test_accuracy"]
    assert len(table) == 5 and table[3].split()[:5] == ["ilr", "1", "r1", "0.455", "0.435"]
    markdown = _invoke("summary", "--format", "md").output.splitlines()
    assert markdown[0].startswith("| arm ") and markdown[1].startswith("|---")


def test_summary_of_the_committed_run_fits_a_terminal(monkeypatch):
    monkeypatch.chdir(REPO)
    table = _invoke("summary").output.splitlines()
    assert len(table) >= 4 and max(map(len, table)) <= 160


def test_summary_without_the_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke("summary")
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1
    assert "`git checkout HEAD -- reports/summary.json`" in result.output
    assert "`dvc repro report` (the whole pipeline, about 2.7 hours on 2 CPU cores)" in result.output


def test_quick_dry_run_prints_the_dvc_command(fresh_clone):
    (fresh_clone / "profiles").mkdir()
    shutil.copy(REPO / "profiles/quick.yaml", fresh_clone / "profiles/quick.yaml")
    result = _invoke("quick", "--dry-run")
    assert result.exit_code == 0, result.output
    command = shlex.split(result.output.strip().removeprefix("$ "))
    assert command[:3] == ["dvc", "exp", "run"] and "task.n_train=8" in command
    assert "~rounds.r3" in command and "~dpo_rounds.d2" in command
    before = (fresh_clone / "params.yaml").read_text()
    _invoke("quick", "--dry-run")
    assert (fresh_clone / "params.yaml").read_text() == before


def test_quick_refuses_a_profile_that_params_would_refuse(fresh_clone):
    (fresh_clone / "bad.yaml").write_text("params:\n  task: {n_trian: 8}\n")
    result = _invoke("quick", "--profile", "bad.yaml", "--dry-run")
    assert result.exit_code != 0 and "bad.yaml" in result.output and "n_trian" in result.output


def test_quick_runs_the_experiment_then_the_report(fresh_clone, monkeypatch):
    """`dvc exp run` stubbed: it applies the -S values as dvc does; the report is written last."""
    from dvc.utils.hydra import apply_overrides

    import ilr.report.report

    (fresh_clone / "profiles").mkdir()
    shutil.copy(REPO / "profiles/quick.yaml", fresh_clone / "profiles/quick.yaml")
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        assert command[1:5] == ["-m", "dvc", "exp", "run"]
        apply_overrides("params.yaml", command[6::2])
        return subprocess.CompletedProcess(command, 0)

    def fake_report(params, *, task, out, **kwargs):
        assert list(params.rounds) == ["r1", "r2", "n1"] and list(params.dpo_rounds) == ["d1"]
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("<html></html>")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(ilr.report.report, "write_report", fake_report)
    result = _invoke("quick")
    assert result.exit_code == 0, result.output
    assert len(calls) == 1 and (fresh_clone / "reports/ilr.html").is_file()
    assert re.search(r"^quick run: [\d.]+ minutes\. Report: reports/ilr\.html \(file://", result.output, re.M)
    # a second `ilr quick` sets nothing: params.yaml already holds the profile
    assert _invoke("quick", "--dry-run").output.strip() == "$ dvc exp run"


def test_quick_stops_when_dvc_fails(fresh_clone, monkeypatch):
    (fresh_clone / "profiles").mkdir()
    shutil.copy(REPO / "profiles/quick.yaml", fresh_clone / "profiles/quick.yaml")
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: subprocess.CompletedProcess(command, 1))
    result = _invoke("quick")
    assert result.exit_code != 0 and "dvc exp run failed (exit 1)" in result.output


def test_diff_of_a_version_that_is_no_round_names_it_and_lists_the_rounds(fresh_clone):
    write_jsonl(fresh_clone / "data/labels/r0.jsonl", [{"id": "a", "prompt": "p", "response": "r"}])
    result = _invoke("diff", "mine", "r0")
    assert result.exit_code != 0 and "'mine': not a label version of params.yaml" in result.output
    assert "choose one of ['r0'" in result.output and "dvc pull" not in result.output
    missing_file = _invoke("diff", "data/labels/mine.jsonl", "r0")  # a file path: not found
    assert missing_file.exit_code != 0 and "data/labels/mine.jsonl" in missing_file.output
    # a file of the user's in the labels folder is read by its name
    write_jsonl(fresh_clone / "data/labels/mine.jsonl", [{"id": "a", "prompt": "p", "response": "s"}])
    assert _invoke("diff", "mine", "r0").exit_code == 0
