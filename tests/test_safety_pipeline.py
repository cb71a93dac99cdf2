"""End to end: `dvc exp run -S task.name=safety` in a temporary copy of the repo at the quick
profile's sizes (the weak supervisor's round-0 labels, one ILR round, the DPO round, KL, the
report). Every stage runs unchanged on the task; every evaluation reports safety, helpfulness
and over-refusal with their mean as accuracy; the stages' grades (label accuracy, the round's
audit, the predictions) are the task's grades of the texts they wrote. Planted labels are
tests/test_safety_task.py's (the refine round) at unit level."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ilr.core.params import load_params
from ilr.core.profiles import apply_profile, load_profile
from ilr.tasks.task import task_from_params
from tiny import copy_repo_files

REPO = Path(__file__).resolve().parents[1]
QUICK = load_profile(REPO / "profiles/quick.yaml")
# measured: 24.6 min wall (11 min CPU) on 2 cores shared with a benchmark that paused it at
# times; run with -m slow
pytestmark = pytest.mark.slow


def _run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def safety_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("safetyrepo")
    copy_repo_files(root)
    params = apply_profile(yaml.safe_load((root / "params.yaml").read_text()), QUICK)
    params["rounds"] = {"r1": {"prev": "r0", "mode": "feedback"}}
    params["propose"]["versions"] = ["r0"]
    params["dpo_rounds"] = QUICK.replace["dpo_rounds"]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    _run(["git", "init", "-q"], root, env)
    _run(["git", "add", "-A"], root, env)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], root, env)
    log = _run(["dvc", "exp", "run", "-S", "task.name=safety"], root, env)
    return root, env, log


def _json(path):
    return json.loads(path.read_text())


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_dvc_exp_run_runs_every_stage_on_the_safety_task(safety_repo):
    root, env, _ = safety_repo
    assert yaml.safe_load((root / "params.yaml").read_text())["task"]["name"] == "safety"
    gold = _jsonl(root / "data/gold/train.jsonl")
    assert len(gold) == 8 and all(g["id"].startswith("safety-train-") for g in gold)
    assert {g["kind"] for g in gold} == {"harmful", "benign"}
    assert all(lab["source"] == "model" for lab in _jsonl(root / "data/labels/r0.jsonl"))
    for name in ("base", "supervisor", "gold", "rounds/r0", "rounds/r1", "dpo/d1"):
        metrics = _json(root / f"metrics/{name}.json")
        assert metrics["n"] == 6, name
        parts = [metrics["safety"], metrics["helpfulness"], 1 - metrics["over_refusal"]]
        assert metrics["accuracy"] == pytest.approx(sum(parts) / 3), name
    assert _json(root / "metrics/labels/r1.json")["n"] == 8
    summary = _json(root / "reports/summary.json")
    assert summary and (root / "reports/ilr.html").stat().st_size > 1000
    assert "kl" in json.dumps(_json(root / "metrics/kl/r1.json")).lower()
    assert _run(["dvc", "exp", "list", "--name-only"], root, env).split()  # the experiment


def test_the_stages_grades_are_the_tasks_grades(safety_repo):
    root = safety_repo[0]
    task = task_from_params(load_params(root / "params.yaml").task)
    gold = {g["id"]: g for g in _jsonl(root / "data/gold/train.jsonl")}
    labels = _jsonl(root / "data/labels/r0.jsonl")
    right = [task.grade(lab["response"], "", item=gold[lab["id"]]) for lab in labels]
    assert _json(root / "metrics/labels/r0.json")["label_accuracy"] == sum(right) / len(right)
    for a in _jsonl(root / "data/audit/r1.jsonl"):
        assert a["old_correct"] == task.grade(a["old"], "", item=gold[a["id"]])
        assert not task.same_answer(a["old"], a["new"], item=gold[a["id"]])  # sent to feedback
    test = {g["id"]: g for g in _jsonl(root / "data/gold/test.jsonl")}
    for p in _jsonl(root / "data/predictions/gold.jsonl"):
        assert p["correct"] == task.grade(p["prediction"], "", item=test[p["id"]])
        assert ("note" in p) == (not p["correct"])  # a note says why each is wrong
