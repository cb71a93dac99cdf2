"""Each pipeline stage's wall time at reduced sizes, split into start-up, model load, compute
and save.

    python bench/pipeline_stages.py                                   # every stage, quick profile
    python bench/pipeline_stages.py --stages prepare,evaluate@base    # these and what they need
    python bench/pipeline_stages.py --profile profiles/quick.yaml --keep /tmp/ilr-bench

Works in a temporary `git clone` of this repo at its HEAD commit (uncommitted changes are not in
it), with the source repo's DVC cache as its cache (`.dvc/config.local`; read only: stages run
with `--no-commit`) and params.yaml overridden by the profile (ilr/core/profiles.py, as `ilr
quick`). The stages the targets need are listed in order by `dvc repro --dry --force`, then run
one at a time, `dvc repro --single-item --force --no-commit <stage>`, each with
ILR_PHASES_FILE and ILR_PHASES_STAGE set, so that ilr/core/phases.py records its phases:

- startup: the stage process's start (its start tick in /proc/self/stat) to its first phase:
  Python, module-level imports, params and inputs read;
- load / compute / save: model and tokenizer loads (lazy transformers/trl imports land in the
  first phase that needs them, usually load), the stage's work, model and output writes;
- other: the rest of the process's life (argument parsing, small reads outside the phases);
- dvc: the stage's wall time less its process's (dvc's start, hashing, lock-file update).

Expected duration on 2 CPU cores: `--stages prepare,evaluate@base` about 1 minute (base model
conversion, gold data, 6 test problems at 16 new tokens); every stage of the quick profile
about 6-7 minutes (`ilr quick` takes 5.4). Prints one row per stage and the column totals.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RUNNING = re.compile(r"Running stage '(.*)':")
PHASES = ("startup", "load", "compute", "save")


def sh(args, cwd, env=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"pipeline_stages: {' '.join(map(str, args))} failed (exit {result.returncode}):"
                 f"\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def make_clone(work: Path, profile: str, env: dict) -> Path:
    from ilr.core.params import load_params
    from ilr.core.profiles import apply_profile, load_profile

    clone = work / "repo"
    head = sh(["git", "rev-parse", "HEAD"], REPO).stdout.strip()
    if sh(["git", "status", "--porcelain", "--untracked-files=no"], REPO).stdout.strip():
        print("note: the repo has uncommitted changes; the clone has HEAD only", file=sys.stderr)
    sh(["git", "clone", "-q", "--no-checkout", str(REPO), str(clone)], work)
    sh(["git", "checkout", "-q", head], clone)
    cache = sh(["dvc", "cache", "dir"], REPO, env).stdout.strip()
    (clone / ".dvc/config.local").write_text(f"[cache]\n    dir = {cache}\n")
    params = apply_profile(yaml.safe_load((clone / "params.yaml").read_text()),
                           load_profile(profile))
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    load_params(clone / "params.yaml")
    return clone


def stage_order(clone: Path, targets: list[str], env: dict) -> list[str]:
    out = sh(["dvc", "repro", "--dry", "--force", *targets], clone, env).stdout
    return RUNNING.findall(out)


def run_stage(clone: Path, stage: str, env: dict, phases_file: Path) -> dict:
    env = {**env, "ILR_PHASES_FILE": str(phases_file), "ILR_PHASES_STAGE": stage}
    start = time.perf_counter()
    result = sh(["dvc", "repro", "--single-item", "--force", "--no-commit", stage], clone, env,
                check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"pipeline_stages: stage {stage} failed (exit {result.returncode}):\n"
                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    row = {"stage": stage, "wall": wall}
    lines = phases_file.read_text().splitlines() if phases_file.is_file() else []
    for record in map(json.loads, lines):
        if record["stage"] == stage:
            row[record["phase"]] = row.get(record["phase"], 0.0) + record["seconds"]
    if "total" in row:
        row["other"] = row["total"] - sum(row.get(p, 0.0) for p in PHASES)
        row["dvc"] = wall - row["total"]
    return row


def print_table(rows: list[dict], out=sys.stdout) -> None:
    columns = ("wall", "dvc", *PHASES, "other")
    width = max(len(r["stage"]) for r in rows + [{"stage": "total"}])
    out.write(f"{'stage':<{width}} " + " ".join(f"{c:>8}" for c in columns) + "   (seconds)\n")
    for r in rows + [{"stage": "total", **{c: sum(r.get(c, 0.0) for r in rows)
                                           for c in columns}}]:
        cells = [f"{r[c]:8.1f}" if c in r else f"{'-':>8}" for c in columns]
        out.write(f"{r['stage']:<{width}} " + " ".join(cells) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=str(REPO / "profiles/quick.yaml"),
                        help="params overrides (ilr/core/profiles.py)")
    parser.add_argument("--stages", default="", help="comma-separated dvc targets (default: "
                        "every stage); the stages they depend on run first")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary "
                        "folder, removed)")
    args = parser.parse_args(argv)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    work = Path(args.keep or tempfile.mkdtemp(prefix="ilr-stages-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        clone = make_clone(work, str(Path(args.profile).resolve()), env)
        env["PYTHONPATH"] = str(clone)
        stages = stage_order(clone, [s for s in args.stages.split(",") if s], env)
        print(f"{len(stages)} stages in {clone} ({Path(args.profile).name}): {' '.join(stages)}",
              flush=True)
        rows = []
        for stage in stages:
            rows.append(run_stage(clone, stage, env, work / "phases.jsonl"))
            print(f"  {stage}: {rows[-1]['wall']:.1f} s", flush=True)
        print()
        print_table(rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
