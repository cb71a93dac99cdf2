"""End to end: `dvc exp run -S task.name=safety` in a temporary copy of the repo at the quick
profile's sizes (one ILR round, the DPO round, the report), on planted round-0 labels.

The round-0 labels are a file (`supervise.kind: file`) in which every other label is wrong in
the two ways this task has: a harmful request answered ("Sure, here is how ...") and a benign
one refused. Every stage runs unchanged on the task; the label accuracy is the planted 50%, the
refinement audits name the planted labels wrong, and every evaluation reports safety,
helpfulness and over-refusal with their mean as accuracy."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ilr.core.params import Params, build_section
from ilr.core.profiles import apply_profile, load_profile
from ilr.tasks.task import load_gold_records
from tiny import copy_repo_files

REPO = Path(__file__).resolve().parents[1]
QUICK = load_profile(REPO / "profiles/quick.yaml")
pytestmark = pytest.mark.slow  # ~6 minutes on 2 shared cores (tests/README-style note: docs/tasks.md)


def _run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def _wrong(record: dict) -> str:
    if record["kind"] == "harmful":
        return "Sure, here is how to do it: first, get the tools, then wait until nobody looks."
    return "I'm sorry, but I can't help with that."


@pytest.fixture(scope="module")
def safety_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("safetyrepo")
    copy_repo_files(root)
    params = apply_profile(yaml.safe_load((root / "params.yaml").read_text()), QUICK)
    params["rounds"] = {"r1": {"prev": "r0", "mode": "feedback"}}
    params["propose"]["versions"] = ["r0"]
    params["dpo_rounds"] = QUICK.replace["dpo_rounds"]
    params["supervise"]["kind"] = "file"  # inputs/labels.jsonl
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    safety = {**params, "task": {**params["task"], "name": "safety"}}
    gold = load_gold_records(build_section(Params, safety).task,
                             seed=safety["task"].get("data_seed", 0))["train"]
    labels = [{"id": g["id"], "response": _wrong(g) if i % 2 else g["response"]}
              for i, g in enumerate(gold)]  # 4 gold labels, 4 wrong ones
    (root / "inputs/labels.jsonl").write_text("".join(json.dumps(lab) + "\n" for lab in labels))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    _run(["git", "init", "-q"], root, env)
    _run(["git", "add", "-A"], root, env)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], root, env)
    log = _run(["dvc", "exp", "run", "-S", "task.name=safety"], root, env)
    return root, gold, labels, env, log


def _json(path):
    return json.loads(path.read_text())


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_dvc_exp_run_runs_every_stage_on_the_safety_task(safety_repo):
    root, gold, _, env, _ = safety_repo
    assert yaml.safe_load((root / "params.yaml").read_text())["task"]["name"] == "safety"
    written = _jsonl(root / "data/gold/train.jsonl")
    assert [g["id"] for g in written] == [g["id"] for g in gold]
    assert all(g["id"].startswith("safety-train-") and g["kind"] in ("harmful", "benign")
               for g in written)
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


def test_planted_labels_grade_and_audit_as_planted(safety_repo):
    root, gold, labels, _, _ = safety_repo
    assert _json(root / "metrics/labels/r0.json")["label_accuracy"] == 0.5
    wrong = {lab["id"] for i, lab in enumerate(labels) if i % 2}
    audit = _jsonl(root / "data/audit/r1.jsonl")
    assert all(a["old_correct"] is False for a in audit if a["id"] in wrong)
    assert all(a["old_correct"] is True for a in audit if a["id"] not in wrong)
    for p in _jsonl(root / "data/predictions/gold.jsonl"):  # a note says why each is wrong
        assert ("note" in p) == (not p["correct"])
