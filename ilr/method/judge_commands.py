"""`ilr judge export` / `ilr judge import`: the file side of :mod:`ilr.method.judge`.

    ilr judge export refine@r1                  judge/refine@r1/{tasks.json,config.xml}
    ilr judge import refine@r1 export.json      inputs/judgments/r1.jsonl (atomically)

Run from the repository root, after the stage's inputs exist (`dvc repro` up to the stage).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from ilr.core.io import DataFileError, commit_outputs, read_records, read_text
from ilr.core.params import ParamsError, load_params
from ilr.method.feedback import judgment_stats
from ilr.method.judge import (ExportError, judgments_from_export, label_studio_tasks,
                              labeling_config, parse_stage, stage_inputs, stage_items)
from ilr.tasks.task import task_from_params

JUDGMENTS = "inputs/judgments/{name}.jsonl"


def _stage_items(params_path: str, stage: str):
    """``(params, kind, name, items)``, or a one-line ClickException naming what to run."""
    try:
        params = load_params(params_path)
        kind, name = parse_stage(stage, params)
    except (ParamsError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    inputs = stage_inputs(kind, name, params)
    absent = [(path, target) for path, target in inputs.values() if not Path(path).is_file()]
    if absent:
        targets = " ".join(dict.fromkeys(target for _, target in absent))
        raise click.ClickException(
            f"{stage} compares items built from {', '.join(p for p, _ in absent)}, not here; "
            f"run `dvc repro {targets}` first (or `dvc pull` them)")
    required = {"samples": ("id", "prompt", "samples"), "proposals": ("id", "proposal")}
    try:
        records = {role: read_records(path, required=required.get(role, ("id", "prompt",
                                                                          "response")))
                   for role, (path, _) in inputs.items()}
        items = stage_items(kind, records, params=params, task=task_from_params(params.task))
    except ValueError as e:  # DataFileError too
        raise click.ClickException(str(e)) from None
    return params, kind, name, items


@click.group(help="Human comparison feedback through Label Studio: export a stage's compared "
                  "items as tasks, import the annotations as inputs/judgments/<stage>.jsonl.")
def judge():
    pass


@judge.command("export", help="STAGE's compared items (refine@<round>, dpo_pairs@<round> or "
                              "feedback) as Label Studio tasks and labeling config.")
@click.argument("stage")
@click.option("--out-dir", default="judge", show_default=True,
              help="writes <out-dir>/<stage>/tasks.json and config.xml")
@click.pass_context
def export(ctx, stage, out_dir):
    params, _, _, items = _stage_items(ctx.obj["params"], stage)
    human = params.feedback.human
    folder = Path(out_dir) / stage
    tasks = label_studio_tasks(items, stage=stage, seed=params.seed, time_limit_s=human.time_limit_s)
    with commit_outputs() as out:
        out.json(folder / "tasks.json", tasks)
        out.text(folder / "config.xml", labeling_config(human.time_limit_s))
    click.echo(f"{stage}: {len(tasks)} comparison(s) -> {folder}/tasks.json; labeling config "
               f"{folder}/config.xml (time budget {human.time_limit_s:g} s). In Label Studio: "
               "create a project with that config, import the tasks, annotate, export as JSON, "
               f"then `ilr judge import {stage} <export.json>`.")


@judge.command("import", help="A Label Studio JSON export of STAGE's tasks -> "
                              "inputs/judgments/<stage>.jsonl (written atomically).")
@click.argument("stage")
@click.argument("export_json", type=click.Path(dir_okay=False))
@click.pass_context
def import_(ctx, stage, export_json):
    params, kind, name, items = _stage_items(ctx.obj["params"], stage)
    human = params.feedback.human
    try:
        export = json.loads(read_text(export_json))
    except json.JSONDecodeError as e:
        raise click.ClickException(f"{export_json}: not JSON ({e.msg}); export the Label Studio "
                                   "project as JSON") from None
    except (DataFileError, OSError) as e:
        raise click.ClickException(f"{export_json}: {e}") from None
    try:
        lines = judgments_from_export(export, items=items, stage=stage,
                                      time_limit_s=human.time_limit_s, over_limit=human.over_limit)
    except ExportError as e:
        raise click.ClickException(f"{export_json}: {e}") from None
    if kind != "dpo_pairs":
        lines = [{k: v for k, v in line.items() if k != "pair"} for line in lines]
    target = JUDGMENTS.format(name=name)
    with commit_outputs() as out:
        out.jsonl(target, lines)
    stats = judgment_stats(lines)
    accepted = sum(line["choice"] == "proposal" for line in lines)
    click.echo(f"{stage}: {len(lines)} judgment(s) -> {target}: {accepted} for the proposal, "
               f"median {stats['median_seconds']} s, {stats['n_over_limit']} over the "
               f"{human.time_limit_s:g} s limit ({human.over_limit}); next: "
               f"`dvc repro {stage}` with feedback.kind: file")
