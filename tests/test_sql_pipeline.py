"""End to end with `task.name: sql` in a temporary copy of the repo at the quick profile's sizes.

The round-0 labels are a file that mixes gold queries with hostile ones (ATTACH, DROP, a PRAGMA
write, a runaway recursive CTE). `dvc repro refine@r1` (7 stages: gold data, the supervisor,
round-0 labels, the classifier, round 1's proposals and refinement) must grade them as wrong,
say why, and leave the databases as they were. The slow test then runs `dvc repro` of every
other stage (SFT, evaluation, KL, the DPO round, the report) on the same repo."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ilr.core.params import Params, build_section
from ilr.core.profiles import apply_profile, load_profile
from ilr.tasks.sql_sandbox import build_database, database_file
from ilr.tasks.task import load_gold_records
from tiny import copy_repo_files

REPO = Path(__file__).resolve().parents[1]
QUICK = load_profile(REPO / "profiles/quick.yaml")
RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def _hostile(record: dict) -> list[str]:
    link = record["db"]["tables"][2]["name"]
    return ["#### ATTACH DATABASE 'pwned.db' AS p", f"#### DROP TABLE {link}", f"#### {RUNAWAY}",
            "#### PRAGMA query_only = 0"]


def _run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def sql_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("sqlrepo")
    copy_repo_files(root)
    params = apply_profile(yaml.safe_load((root / "params.yaml").read_text()), QUICK)
    params["rounds"] = {"r1": {"prev": "r0", "mode": "feedback"}}
    params["propose"]["versions"] = ["r0"]
    params["dpo_rounds"] = QUICK.replace["dpo_rounds"]
    params["task"]["name"] = "sql"
    params["task"]["sql"]["sandbox"]["timeout_s"] = 0.5
    params["supervise"]["kind"] = "file"  # inputs/labels.jsonl
    gold = load_gold_records(build_section(Params, params).task, seed=params["task"].get("data_seed", 0))["train"]
    hostile = _hostile(gold[0])
    labels = [{"id": g["id"], "response": hostile[i // 2] if i % 2 else g["response"]}
              for i, g in enumerate(gold)]  # 4 gold labels, 4 hostile ones
    (root / "inputs/labels.jsonl").write_text("".join(json.dumps(lab) + "\n" for lab in labels))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cache = root.parent / "sql-cache"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(root), "ILR_SQL_CACHE": str(cache)}
    _run(["git", "init", "-q"], root, env)
    _run(["git", "add", "-A"], root, env)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], root, env)
    log = _run(["dvc", "repro", "refine@r1"], root, env)
    return root, gold, labels, cache, env, log


def _json(path):
    return json.loads(path.read_text())


@pytest.mark.slow
def test_every_stage_runs_on_the_sql_task(sql_repo):
    root, env = sql_repo[0], sql_repo[4]
    _run(["dvc", "repro"], root, env)
    for name in ("base", "supervisor", "gold", "rounds/r0", "rounds/r1"):
        assert _json(root / f"metrics/{name}.json")["n"] == 6
    assert _json(root / "metrics/labels/r1.json")["n"] == 8
    assert _json(root / "metrics/dpo/d1.json")["n"] == 6
    assert "kl" in json.dumps(_json(root / "metrics/kl/r1.json")).lower()
    summary = _json(root / "reports/summary.json")
    assert summary and (root / "reports/ilr.html").stat().st_size > 1000
    gold = [json.loads(line) for line in (root / "data/gold/train.jsonl").read_text().splitlines()]
    assert all(g["id"].startswith("sql-train-") and "db" in g for g in gold)


def test_hostile_labels_are_wrong_and_change_nothing(sql_repo):
    root, gold, labels, cache, _, log = sql_repo
    assert _json(root / "metrics/labels/r0.json")["label_accuracy"] == 0.5
    audit = [json.loads(line) for line in (root / "data/audit/r1.jsonl").read_text().splitlines()]
    hostile_ids = {lab["id"] for i, lab in enumerate(labels) if i % 2}
    assert all(a["old_correct"] is False for a in audit if a["id"] in hostile_ids)
    assert hostile_ids <= {a["id"] for a in audit}  # a refused label never equals a proposal
    assert "refused: ATTACH" in log and "stopped: ran past 0.5 s" in log
    assert not (root / "pwned.db").exists()
    for g in gold:  # every cached database is byte for byte what its spec builds
        fresh = cache.parent / "fresh.sqlite"
        fresh.unlink(missing_ok=True)
        build_database(g["db"], fresh)
        assert database_file(g["db"], cache=cache).read_bytes() == fresh.read_bytes()
