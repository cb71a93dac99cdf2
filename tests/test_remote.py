"""The DVC remote on a real S3 API (moto's server on 127.0.0.1, conftest's `s3_env`): the tiny
repo pushed with its run cache, a fresh clone that restores it with no stage rerun and audits
its label versions, and .ci/gpu-repro.sh (the workflow's GPU job) run on CPU against it."""
import json
import os
import re
import shlex
import shutil

import pytest
import yaml

from tiny import GIT_USER, REPO, ROUNDS, run

REMOTE_URL = "s3://ilr-test/cache"


def _stages_run(log: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", log))


def _stages_restored(log: str) -> set[str]:
    return set(re.findall(r"Stage '([^']+)' is cached - skipping run", log))


def _clone(source, dest, *, branch=None):
    run(["git", "clone", "-q", *(["-b", branch] if branch else []), str(source), str(dest)], dest.parent)
    return dest


@pytest.fixture(scope="module")
def pushed(tiny_repo, s3_env):
    """The tiny repo with an S3 remote in its committed .dvc/config (the endpoint and the
    credentials come from the environment, as on a runner), pushed with its run cache."""
    run(["dvc", "remote", "add", "-d", "storage", REMOTE_URL], tiny_repo)
    run(["git", "add", ".dvc/config"], tiny_repo)
    run(["git", *GIT_USER, "commit", "-qm", "dvc remote: s3"], tiny_repo)
    out = run(["dvc", "push", "--run-cache"], tiny_repo, env=s3_env)
    assert re.search(r"\d+ files? pushed", out), out
    return tiny_repo


AUDIT_STAGES = ["prepare", "supervise", "refine"]  # their outputs are what `ilr` reads


@pytest.fixture(scope="module")
def pulled(pushed, s3_env, tmp_path_factory):
    """A fresh clone: `dvc pull` of the label versions, their audits and the gold labels (the
    models are most of the bytes and `ilr` does not read them), then `dvc repro --pull
    --allow-missing`; returns (clone, the repro's output)."""
    clone = _clone(pushed, tmp_path_factory.mktemp("clone") / "repo")
    run(["dvc", "pull", *AUDIT_STAGES], clone, env=s3_env)
    repro = run(["dvc", "repro", "--pull", "--allow-missing"], clone, env=s3_env)
    return clone, repro


def test_a_pulled_clone_reruns_nothing(pulled):
    clone, repro = pulled
    assert _stages_run(repro) == set() and "didn't change, skipping" in repro
    for name in ("r0", *ROUNDS):
        assert (clone / f"data/labels/{name}.jsonl").is_file()
        assert name == "r0" or (clone / f"data/audit/{name}.jsonl").is_file()
    assert not (clone / "models/feedback/model.safetensors").exists()  # not pulled, not rebuilt


def test_a_clone_reruns_nothing_before_any_pull(pushed, tmp_path):
    """The small text outputs come with git (`cache: false`) and match dvc.lock; the models
    are missing, not modified, so --allow-missing skips the stages that write them."""
    clone = _clone(pushed, tmp_path / "repo")
    assert _stages_run(run(["dvc", "repro", "--dry", "--allow-missing"], clone)) == set()


@pytest.mark.parametrize("args", [["audit", "--round", "r1"], ["diff", "r0", "r1"],
                                  ["history", "FIRST_ID"]])
def test_a_clone_with_no_cache_and_no_remote_audits_at_once(tiny_repo, tmp_path, args):
    """Label versions, audits, gold and predictions are in git as well as in dvc.lock, so the
    `ilr` commands print in a bare clone what they print where the run was built, and
    `dvc status` lists only the DVC-cached outputs (models) as missing, nothing as modified."""
    clone = _clone(tiny_repo, tmp_path / "repo")
    first = json.loads((clone / "data/labels/r0.jsonl").read_text().splitlines()[0])["id"]
    args = [first if a == "FIRST_ID" else a for a in args]
    here = run(["ilr", *args], clone)
    assert here == run(["ilr", *args], tiny_repo)
    assert {"audit": "items:", "diff": "n_changed:", "history": "start"}[args[0]] in here
    status = json.loads(run(["dvc", "status", "--json"], clone))
    changes = {path: state for entries in status.values() for entry in entries
               if isinstance(entry, dict) for kind in ("changed deps", "changed outs")
               for path, state in entry.get(kind, {}).items()}
    assert any(path.startswith("models/") for path in changes)  # the models: not in the clone
    assert set(changes.values()) <= {"deleted", "not in cache"}, changes  # nothing modified
    in_git = ("data/gold/", "data/labels/", "data/audit/", "data/predictions/", "metrics/")
    assert not [path for path in changes if path.startswith(in_git)], changes


@pytest.mark.parametrize("args", [["audit", "--round", "r1"], ["audit"],
                                  ["diff", "r0", "r2"], ["diff", "r1", "r1", "--rev-a", "HEAD~1"],
                                  ["history", "FIRST_ID"]])
def test_ilr_reads_the_pulled_label_versions(pulled, pushed, s3_env, args):
    """`ilr audit`, `diff` and `history` print in the clone what they print where the labels
    were built (`--rev-a` reads a git revision's labels through dvc.api, from the cache)."""
    clone, _ = pulled
    first = json.loads((clone / "data/labels/r0.jsonl").read_text().splitlines()[0])["id"]
    args = [first if a == "FIRST_ID" else a for a in args]
    here = run(["ilr", *args], clone, env=s3_env)
    assert here == run(["ilr", *args], pushed)
    assert {"audit": "items:", "diff": "n_changed:", "history": "start"}[args[0]] in here


@pytest.fixture(scope="module")
def gpu_repro(pushed, s3_env, tmp_path_factory):
    """.ci/gpu-repro.sh on a pull-request branch that changes `feedback.n_check` (the feedback
    stage reruns, and the report), checked out as actions/checkout does (no local `main`, only
    origin/main). The runner keeps a DVC cache between jobs (here the tiny repo's, so its
    `dvc pull` has nothing to download). The comment goes to a file, and `gh` is a stand-in on
    PATH that records its arguments."""
    tmp = tmp_path_factory.mktemp("gpu-repro")
    runner = _clone(pushed, tmp / "repo")
    run(["git", "checkout", "-qb", "pr"], runner)
    run(["git", "branch", "-qD", "main"], runner)
    params = yaml.safe_load((runner / "params.yaml").read_text())
    params["feedback"]["n_check"] = 2
    (runner / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", *GIT_USER, "commit", "-qam", "feedback.n_check: 2"], runner)
    run(["dvc", "cache", "dir", "--local", str(pushed / ".dvc/cache")], runner)
    (tmp / "bin").mkdir()
    (tmp / "bin/gh").write_text(f'#!/bin/sh\necho "$@" > {shlex.quote(str(tmp / "gh-args"))}\n')
    (tmp / "bin/gh").chmod(0o755)
    env = {**s3_env, "ILR_REMOTE_URL": REMOTE_URL, "ILR_COMMENT_FILE": str(tmp / "comment.md"),
           "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"), "PR_NUMBER": "7", "GH_TOKEN": "t",
           "ILR_BASE_REF": "main"}
    log = run(["bash", "-c", f'PATH={shlex.quote(str(tmp / "bin"))}:"$PATH" .ci/gpu-repro.sh'],
              runner, env=env)
    return runner, log, tmp


def test_gpu_repro_reruns_what_changed_and_comments(gpu_repro, pushed):
    runner, log, tmp = gpu_repro
    ran, restored = _stages_run(log), _stages_restored(log)
    assert "feedback" in ran | restored and ran <= {"feedback", "report"}
    body = (tmp / "comment.md").read_text()
    assert (tmp / "summary.md").read_text() == body
    assert (tmp / "gh-args").read_text().split() == ["pr", "comment", "7", "--body-file",
                                                     str(tmp / "comment.md")]
    metrics = body.split("### Metrics against `main`")[1].split("###")[0]
    assert "| metrics/feedback.json" in metrics and "decided.n_items" in metrics
    params = body.split("### Params against `main`")[1].split("###")[0]
    assert re.search(r"\| params.yaml +\| feedback.n_check +\| 4 +\| 2 ", params), params
    labels = body.split("### Label accuracy by round")[1].strip().splitlines()[2:]
    assert [line.split("|")[1].strip() for line in labels] == ["r0", *ROUNDS]
    for line in labels:  # each version's label accuracy, as the runner's metrics file says (the shared
        # tiny repo is not read: other tests of the session edit its files)
        version = line.split("|")[1].strip()
        accuracy = json.loads((runner / f"metrics/labels/{version}.json").read_text())["label_accuracy"]
        assert line.split("|")[4].strip() == f"{100 * accuracy:.1f}%"


def test_gpu_repro_pushed_its_results(gpu_repro, pushed, s3_env, tmp_path):
    """Another clone of the pull request's commit, through the script's first two steps,
    restores the rerun stages from the run cache the script pushed: nothing runs, the results
    are the runner's. Its cache starts with the tiny repo's objects (another runner's
    persistent cache) but no run cache: that comes from the remote."""
    runner, _, _ = gpu_repro
    clone = _clone(runner, tmp_path / "repo", branch="pr")
    shutil.copytree(pushed / ".dvc/cache/files", clone / ".dvc/cache/files", copy_function=os.link)
    run(["dvc", "pull", "--allow-missing"], clone, env=s3_env)
    log = run(["dvc", "repro", "--pull", "--allow-missing"], clone, env=s3_env)
    # the report is not restored from the run cache (measured; it reruns in seconds)
    assert "feedback" in _stages_restored(log) and _stages_run(log) <= {"report"}
    for name in ("metrics/feedback.json", "reports/summary.json"):
        assert (clone / name).read_text() == (runner / name).read_text()
    assert json.loads((clone / "metrics/feedback.json").read_text())["decided"]["n_items"] <= 2
