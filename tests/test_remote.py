"""The DVC remote on a real S3 API (moto's server on 127.0.0.1, conftest's `s3_env`): the tiny
repo pushed with its run cache, a fresh clone that restores it with no stage rerun and audits
its label versions, and .ci/gpu-repro.sh (the workflow's GPU job) run on CPU against it."""
import json
import re
import shlex

import pytest
import yaml

from tiny import GIT_USER, REPO, ROUNDS, run

REMOTE_URL = "s3://ilr-test/cache"


def _stages_run(log: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", log))


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


@pytest.fixture(scope="module")
def pulled(pushed, s3_env, tmp_path_factory):
    """A fresh clone: `dvc repro --pull --allow-missing` first (what a runner does), then
    `dvc pull`; returns (clone, the repro's output)."""
    clone = _clone(pushed, tmp_path_factory.mktemp("clone") / "repo")
    assert not (clone / "data/labels/r1.jsonl").exists()
    repro = run(["dvc", "repro", "--pull", "--allow-missing"], clone, env=s3_env)
    run(["dvc", "pull"], clone, env=s3_env)
    return clone, repro


def test_a_fresh_clone_reruns_nothing_and_pulls_every_output(pulled, s3_env):
    clone, repro = pulled
    assert _stages_run(repro) == set() and "didn't change, skipping" in repro
    assert "up to date" in run(["dvc", "status"], clone, env=s3_env)
    assert _stages_run(run(["dvc", "repro"], clone, env=s3_env)) == set()
    for name in ("r0", *ROUNDS):
        assert (clone / f"data/labels/{name}.jsonl").is_file()
    assert (clone / "models/feedback/model.safetensors").is_file()


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
    assert {"audit": "items:", "diff": "n_changed:", "history": first}[args[0]] in here


@pytest.fixture(scope="module")
def gpu_repro(pulled, s3_env, tmp_path_factory):
    """.ci/gpu-repro.sh on a pull-request branch that changes `feedback.n_check` (the feedback
    stage and the report rerun), checked out as actions/checkout does (no local `main`, only
    origin/main). The runner keeps a DVC cache between jobs: here the first clone's. The
    comment goes to a file, and `gh` is a stand-in on PATH that records its arguments."""
    clone, _ = pulled
    tmp = tmp_path_factory.mktemp("gpu-repro")
    runner = _clone(clone, tmp / "repo")
    run(["git", "checkout", "-qb", "pr"], runner)
    run(["git", "branch", "-qD", "main"], runner)
    params = yaml.safe_load((runner / "params.yaml").read_text())
    params["feedback"]["n_check"] = 2
    (runner / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", *GIT_USER, "commit", "-qam", "feedback.n_check: 2"], runner)
    run(["dvc", "cache", "dir", "--local", str(clone / ".dvc/cache")], runner)
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
    assert _stages_run(log) == {"feedback", "report"}
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
    for line in labels:  # each version's label accuracy, as its metrics file says
        version = line.split("|")[1].strip()
        accuracy = json.loads((pushed / f"metrics/labels/{version}.json").read_text())["label_accuracy"]
        assert line.split("|")[4].strip() == f"{100 * accuracy:.1f}%"


def test_gpu_repro_pushed_its_results(gpu_repro, s3_env, tmp_path):
    """Another clone of the pull request's commit, with an empty cache, restores the rerun
    stages from the run cache the script pushed: nothing runs, the results are the runner's."""
    runner, _, _ = gpu_repro
    clone = _clone(runner, tmp_path / "repo", branch="pr")
    log = run(["dvc", "repro", "--pull", "--allow-missing"], clone, env=s3_env)
    assert _stages_run(log) == set()
    assert {"feedback", "report"} <= set(re.findall(r"Stage '([^']+)' is cached - skipping run", log))
    for name in ("metrics/feedback.json", "metrics/summary.json"):
        assert (clone / name).read_text() == (runner / name).read_text()
    assert json.loads((clone / "metrics/feedback.json").read_text())["decided"]["n_items"] <= 2
