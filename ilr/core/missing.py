"""One line for an `ilr` command whose label or audit files are not here.

The label versions and audits are `cache: false` DVC outputs, committed in git with each run
(dvc.yaml), so a clone has the committed run's; a file is missing when its round was added to
params but not run yet, or when it was deleted: `git checkout HEAD -- <file>` brings back a
committed one, `dvc repro <stage>` builds it. The costs are the measured times on 2 CPU cores
with `model.dtype: auto` (bfloat16 on the CI machine kind's AVX512-BF16 CPU; about twice as
long in float32), rounded.
"""
from __future__ import annotations

from pathlib import Path

# minutes on 2 CPU cores, from the README's stage times on the embedded default (auto):
# base_model and prepare under 1, supervisor 5, supervise under 1, feedback_model 3, propose 6
# and refine under 1 a round
ROUND0_LABELS_MIN = 6  # base_model, prepare, supervisor (SFT + its outputs), supervise
CLASSIFIER_MIN = 3  # feedback_model, which every refine stage needs
ROUND_MIN = 6  # a round's labels: propose (two half-model SFTs, 400 generations) + refine
FULL_REPRO = "about 2.7 hours"  # the whole default dvc.yaml: the main run, two seed runs, compare


def _duration(minutes: int) -> str:
    if minutes < 90:
        return f"about {5 * round(minutes / 5)} minutes"
    return f"about {minutes / 60:.1f} hours".replace(".0 hours", " hours")


def _compact(paths: list[Path]) -> str:
    """data/audit/r1.jsonl, data/audit/r2.jsonl -> data/audit/{r1,r2}.jsonl"""
    if len(paths) == 1:
        return str(paths[0])
    parents, suffixes = {p.parent for p in paths}, {p.suffix for p in paths}
    if len(parents) == 1 and len(suffixes) == 1:
        return f"{parents.pop()}/{{{','.join(p.stem for p in paths)}}}{suffixes.pop()}"
    return ", ".join(map(str, paths))


def _rounds_needed(versions: list[str], rounds: dict) -> set[str]:
    """The rounds whose labels must be built for ``versions`` (each round needs its prev)."""
    needed: set[str] = set()
    for name in versions:
        while name in rounds and name not in needed:
            needed.add(name)
            name = rounds[name].prev
    return needed


def label_cost(versions: list[str], rounds: dict) -> str:
    """Expected time of `dvc repro` for the label (and audit) files of ``versions``."""
    needed = _rounds_needed(versions, rounds)
    minutes = ROUND0_LABELS_MIN + (CLASSIFIER_MIN + ROUND_MIN * len(needed) if needed else 0)
    return _duration(minutes)


def _stages(versions: list[str], rounds: dict) -> list[str]:
    stages = ["supervise"] if "r0" in versions else []
    named = [v for v in versions if v in rounds]
    if named and len(named) == len(rounds):
        return stages + ["refine"]  # the foreach group: every round
    return stages + [f"refine@{v}" for v in named]


def absent_versions(folder: str | Path, names: list[str]) -> tuple[list[str], list[Path]]:
    """The versions among ``names`` without a ``<folder>/<name>.jsonl``, and those paths."""
    missing = [name for name in names if not (Path(folder) / f"{name}.jsonl").is_file()]
    return missing, [Path(folder) / f"{name}.jsonl" for name in missing]


def missing_line(paths: list[Path], versions: list[str], rounds: dict, *, what: str) -> str:
    """``what`` needs ``paths`` (the label or audit files of ``versions``), which are missing:
    one line with both remedies and the cost of the second."""
    stages = " ".join(_stages(versions, rounds))
    return (f"{what}: {_compact(paths)} missing here (committed with each run); get the "
            f"committed ones with `git checkout HEAD -- {' '.join(map(str, paths))}`, or build "
            f"them with `dvc repro {stages}` ({label_cost(versions, rounds)} on 2 CPU cores)")


def missing_metrics_line(paths: list[Path], *, what: str) -> str:
    return (f"{what}: {_compact(paths)} missing (committed with each run); get it with "
            f"`git checkout HEAD -- {' '.join(map(str, paths))}`, or build it with `dvc repro "
            f"report` (the whole pipeline, {FULL_REPRO} on 2 CPU cores)")
