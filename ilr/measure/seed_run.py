"""Seed runs: the whole single-seed pipeline again under another `seed`, for `compare`.

Design (issue 20). The committed pipeline is one seed (`seed`, its outputs at the usual paths).
Each further seed in `seeds` is one stage, `seed_run@<s>`, that runs the same `dvc.yaml` in a
copy of the repository (`.seeds/<s>`, ignored by git and DVC) whose params.yaml differs only in
`seed: <s>` and `seeds: []`, with the copy's DVC cache pointed at this repository's cache. So:

- every stage of a seed run lands in the shared run-cache as it finishes: an interrupted seed
  run, started again, restores its finished stages and goes on from the first unfinished one;
  stages that do not read the seed (base_model, prepare) are restored from the main run's;
- the problems are the same across seeds (`task.data_seed`), so the arms are compared on the
  same test problems, seed by seed;
- the seed run's results (params, predictions, labels, audits, metrics) are one DVC output,
  `runs/seed<s>`, which `compare` reads beside the main run's own files.

Pure DVC alternatives were weighed: a `matrix` over seeds would prefix every path of every stage
with its seed (the single-seed layout, its tests and its users' commands all change), and queued
experiments (`dvc exp run --queue -S seed=1`) keep each seed's outputs in an experiment ref that
a `compare` stage cannot depend on.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from ilr.core.io import atomic_path

WORK_ROOT = ".seeds"
RESULT_GLOBS = ("params.yaml", "dvc.lock", "data/gold/train.jsonl", "data/gold/test.jsonl",
                "data/predictions/*.jsonl", "data/labels/*.jsonl", "data/audit/*.jsonl",
                "metrics/**/*.json", "reports/summary.json")
SKIPPED_PREFIXES = (WORK_ROOT + "/", "runs/seed")  # earlier seed runs' copies and results


def pipeline_outputs(repo: Path) -> set[str]:
    """The paths ``repo``'s dvc.lock lists as outputs, and dvc.lock itself: the main run's
    results, which a seed copy must not receive (its own dvc.lock says what it has finished)."""
    lock = repo / "dvc.lock"
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {}) if lock.is_file() else {}
    return {"dvc.lock"} | {o["path"].rstrip("/") for stage in stages.values()
                           for o in stage.get("outs", [])}


def _is_output(name: str, outputs: set[str]) -> bool:
    return any(name == out or name.startswith(out + "/") for out in outputs)


def seed_params(params: dict, *, seed: int) -> dict:
    """The params of one seed run: ``params`` with ``seed`` set and no further seeds."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed {seed!r}: an integer is needed")
    return {**params, "seed": seed, "seeds": []}


def repo_files(repo: Path) -> list[str]:
    """The files a fresh clone of ``repo`` would have plus the untracked, unignored ones, less
    the pipeline's outputs and earlier seed runs: the sources of a seed run."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        raise RuntimeError(f"{repo}: seed runs copy the repository's files through git, and "
                           f"`git ls-files` failed: {listed.stderr.strip()}")
    outputs = pipeline_outputs(repo)
    return sorted(p for p in listed.stdout.split("\0")
                  if p and not p.startswith(SKIPPED_PREFIXES) and not _is_output(p, outputs)
                  and (repo / p).is_file())


def prepare_seed_copy(repo: Path, work: Path, *, seed: int, cache_dir: Path) -> None:
    """Bring ``work`` to ``repo``'s files with ``seed``'s params; its outputs from an earlier,
    possibly interrupted, run are kept (its dvc.lock says which are finished)."""
    work.mkdir(parents=True, exist_ok=True)
    for name in repo_files(repo):
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (work / "params.yaml").write_text(yaml.safe_dump(seed_params(params, seed=seed),
                                                     sort_keys=False))
    # the copy is no git repository of its own: DVC must not take the enclosing one for it
    (work / ".dvc").mkdir(exist_ok=True)
    (work / ".dvc/config.local").write_text(
        f"[core]\n    no_scm = true\n[cache]\n    dir = {cache_dir.resolve()}\n")


def collect_results(work: Path, out: Path) -> list[str]:
    """Copy a finished seed run's results from ``work`` into ``out`` (replaced whole, at once)."""
    found = sorted({p for pattern in RESULT_GLOBS for p in work.glob(pattern) if p.is_file()})
    if not any(p.match("data/predictions/*.jsonl") for p in found):
        raise RuntimeError(f"{work}: the seed run left no data/predictions; see its log above")
    with atomic_path(out) as tmp:
        Path(tmp).mkdir(parents=True)
        for path in found:
            target = Path(tmp) / path.relative_to(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return [str(p.relative_to(work)) for p in found]


def run_seed(repo: str | Path, *, seed: int, out: str | Path, cache_dir: str | Path,
             work: str | Path | None = None) -> list[str]:
    """Run the pipeline for ``seed`` in ``work`` (default ``.seeds/<seed>``) and collect its
    results into ``out``; returns the collected paths."""
    repo = Path(repo)
    work = Path(work) if work else repo / WORK_ROOT / str(seed)
    prepare_seed_copy(repo, work, seed=seed, cache_dir=Path(cache_dir))
    # the copy's `seeds` is empty: its `dvc repro` is the single-seed pipeline, with a `compare`
    # of that one seed that `report` depends on
    subprocess.run(["dvc", "repro"], cwd=work, check=True)
    return collect_results(work, Path(out))


def local_cache_dir(repo: str | Path) -> Path:
    """This repository's DVC cache folder (``dvc cache dir``)."""
    shown = subprocess.run(["dvc", "cache", "dir"], cwd=repo, capture_output=True, text=True,
                           check=True)
    return Path(shown.stdout.strip())

