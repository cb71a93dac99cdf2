"""Seed runs (ilr/measure/seed_run.py): what a seed's copy gets, what it keeps from an interrupted start,
what its results folder holds; end to end on the tiny repo (slow)."""
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ilr.core.params import Params, ParamsError, build_section
from ilr.measure.seed_run import (collect_results, pipeline_outputs, prepare_seed_copy, repo_files,
                          seed_params)


def _git_repo(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    files = {"params.yaml": "seed: 0\nseeds: [1]\nrounds: {}\n", "ilr/x.py": "x = 1\n",
             "untracked.py": "y = 2\n", "secret.log": "no\n", "metrics/labels/r0.json": "{}\n",
             "plots/sweep/ilr.csv": "a\n", "runs/seed1/params.yaml": "seed: 1\n",
             "runs/README.md": "seed runs\n",
             ".seeds/1/params.yaml": "seed: 1\n",
             "dvc.lock": yaml.safe_dump({"schema": "2.0", "stages": {"supervise": {"outs": [
                 {"path": "metrics/labels/r0.json"}, {"path": "data/labels/r0.jsonl"}]}}})}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / ".gitignore").write_text("secret.log\n")
    subprocess.run(["git", "add", "params.yaml", "ilr", "metrics", "plots", "dvc.lock",
                    ".gitignore", "runs/README.md"], cwd=root, check=True)
    return root


def test_a_seed_runs_params_differ_only_in_the_seeds():
    params = {"seed": 0, "seeds": [1, 2], "refine": {"alpha": 0.15}}
    assert seed_params(params, seed=2) == {"seed": 2, "seeds": [], "refine": {"alpha": 0.15}}
    assert params["seeds"] == [1, 2]  # the caller's dict is left alone
    with pytest.raises(ValueError, match="an integer"):
        seed_params(params, seed=True)


@pytest.mark.parametrize("seeds,message", [([1, 1], "distinct"), ([0, 1], "leave out seed 0")])
def test_seeds_must_be_distinct_and_not_the_main_seed(seeds, message):
    with pytest.raises(ParamsError, match=message):
        build_section(Params, {"seed": 0, "seeds": seeds})


def test_the_copy_gets_the_sources_not_the_main_runs_results(tmp_path):
    repo = _git_repo(tmp_path / "repo")
    assert pipeline_outputs(repo) == {"dvc.lock", "metrics/labels/r0.json", "data/labels/r0.jsonl"}
    # tracked and untracked-unignored sources; not the ignored file, the main run's outputs
    # (its dvc.lock and a cache: false metrics file), nor earlier seed runs
    assert repo_files(repo) == [".gitignore", "ilr/x.py", "params.yaml", "plots/sweep/ilr.csv",
                                "runs/README.md", "untracked.py"]


def test_a_restarted_copy_keeps_what_the_seed_run_finished(tmp_path):
    repo = _git_repo(tmp_path / "repo")
    work = tmp_path / "work"
    (work / "metrics/labels").mkdir(parents=True)
    (work / "metrics/labels/r0.json").write_text('{"seed": 1}')  # finished before a stop
    (work / "dvc.lock").write_text("seed 1's lock")
    prepare_seed_copy(repo, work, seed=1, cache_dir=tmp_path / "cache")
    assert yaml.safe_load((work / "params.yaml").read_text()) == {"seed": 1, "seeds": [], "rounds": {}}
    assert (work / "metrics/labels/r0.json").read_text() == '{"seed": 1}'
    assert (work / "dvc.lock").read_text() == "seed 1's lock"
    assert (work / "ilr/x.py").read_text() == "x = 1\n"
    config = (work / ".dvc/config.local").read_text()
    assert "no_scm = true" in config and f"dir = {(tmp_path / 'cache').resolve()}" in config


def test_results_replace_the_folder_whole(tmp_path):
    work, out = tmp_path / "work", tmp_path / "runs/seed1"
    for name in ("params.yaml", "data/predictions/r0.jsonl", "metrics/rounds/r0.json",
                 "data/labels/r1.jsonl", "models/sft/r0/model.safetensors"):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("x")
    (out / "old").mkdir(parents=True)
    (out / "old/stale.json").write_text("{}")
    collected = collect_results(work, out)
    assert collected == ["data/labels/r1.jsonl", "data/predictions/r0.jsonl",
                         "metrics/rounds/r0.json", "params.yaml"]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == collected
    (work / "data/predictions/r0.jsonl").unlink()
    with pytest.raises(RuntimeError, match="no data/predictions"):
        collect_results(work, out)
    assert (out / "params.yaml").is_file()  # a failed collection leaves the old results


@pytest.mark.slow
def test_a_seed_run_of_the_tiny_repo_feeds_compare(tiny_repo):
    """`dvc repro compare` with seeds [1] runs every single-seed stage under seed 1 in
    .seeds/1 and compares two seeds on the same test problems (about 5 minutes)."""
    from tiny import run

    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["seeds"] = [1]
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        run(["dvc", "repro", "compare"], tiny_repo)
        seed1 = tiny_repo / "runs/seed1"
        assert yaml.safe_load((seed1 / "params.yaml").read_text())["seed"] == 1
        assert (seed1 / "data/gold/test.jsonl").read_text() == (tiny_repo / "data/gold/test.jsonl").read_text()
        assert (seed1 / "data/labels/r0.jsonl").read_text() != (tiny_repo / "data/labels/r0.jsonl").read_text()
        compare = json.loads((tiny_repo / "metrics/compare.json").read_text())
        assert sorted(compare["seeds"]) == ["seed0", "seed1"]
        assert "seed_run@1" in yaml.safe_load((tiny_repo / "dvc.lock").read_text())["stages"]
    finally:
        subprocess.run(["git", "checkout", "--", "params.yaml", "dvc.lock"], cwd=tiny_repo)
