"""The `ilr` command: audit and compare label versions from the outputs of `dvc repro`.

    ilr audit --round r1 --accepted      which labels did round r1 replace, and was that right?
    ilr history arith-train-00012        what happened to one example across rounds?
    ilr diff r1 r1 --rev-a HEAD~1        what changed since the last commit?
    ilr report                           one static HTML page for the run

Paths default to the layout of dvc.yaml; run it from the repository root.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from ilr.audit import build_audit_rows, build_history, count_audit_rows, diff_labels, order_versions
from ilr.io import DataFileError, read_jsonl, read_records, read_records_at
from ilr.params import ParamsError, load_params
from ilr.tasks import task_from_params

FORMATS = click.Choice(["table", "csv", "jsonl"])


def _fail(error: Exception):
    raise click.ClickException(str(error))


def _load(params_path: str):
    try:
        params = load_params(params_path)
    except ParamsError as e:
        _fail(e)
    return params, task_from_params(params.task)


def _gold(path: str) -> dict:
    return {r["id"]: r for r in read_records(path)} if Path(path).is_file() else {}


def _emit(rows: list[dict], fmt: str, counts: dict | None = None):
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if fmt == "csv":
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return
    from tabulate import tabulate

    click.echo(tabulate(rows, headers="keys", floatfmt=".4f") if rows else "(no rows)")
    if counts:
        click.echo("\n" + "  ".join(f"{k}: {v}" for k, v in counts.items()))


@click.group(help=__doc__.split("\n\n")[0])
@click.option("--params", "params_path", default="params.yaml", show_default=True,
              help="params file that declares the rounds")
@click.pass_context
def main(ctx, params_path):
    ctx.obj = {"params": params_path}


@main.command(help="Every compared item of a round: old vs new answer, feedback score, "
                   "decision and gold correctness, with counts at the end.")
@click.option("--round", "round_name", help="a round of params `rounds` (default: all rounds)")
@click.option("--accepted", "decision", flag_value="accepted", help="only replaced labels")
@click.option("--rejected", "decision", flag_value="rejected", help="only kept labels")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--audit-dir", default="data/audit", show_default=True)
@click.pass_context
def audit(ctx, round_name, decision, fmt, audit_dir):
    params, task = _load(ctx.obj["params"])
    if round_name and round_name not in params.rounds:
        _fail(ValueError(f"--round {round_name}: not a round of {ctx.obj['params']}; "
                         f"choose one of {list(params.rounds)}"))
    rows = []
    for name in [round_name] if round_name else order_versions(params.rounds)[1:]:
        path = Path(audit_dir) / f"{name}.jsonl"
        if not path.is_file():
            if round_name:
                _fail(DataFileError(f"{path}: not found; run `dvc repro refine@{name}` first"))
            continue
        rows += build_audit_rows(read_jsonl(path, allow_empty=True), task=task, round_name=name,
                                 accepted=None if decision is None else decision == "accepted")
    _emit(rows, fmt, count_audit_rows(rows))


@main.command(help="The lineage of one example's label across rounds: which round changed "
                   "it, from what to what, with which feedback score.")
@click.argument("example_id")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--labels-dir", default="data/labels", show_default=True)
@click.option("--audit-dir", default="data/audit", show_default=True)
@click.option("--gold", default="data/gold/train.jsonl", show_default=True)
@click.pass_context
def history(ctx, example_id, fmt, labels_dir, audit_dir, gold):
    params, task = _load(ctx.obj["params"])
    versions, audits = {}, {}
    for name in order_versions(params.rounds):
        if (Path(labels_dir) / f"{name}.jsonl").is_file():
            versions[name] = {r["id"]: r for r in read_records(Path(labels_dir) / f"{name}.jsonl")}
        if (Path(audit_dir) / f"{name}.jsonl").is_file():
            audits[name] = {a["id"]: a for a in read_jsonl(Path(audit_dir) / f"{name}.jsonl",
                                                           allow_empty=True)}
    try:
        rows = build_history(example_id, versions=versions, audits=audits, rounds=params.rounds,
                             task=task, gold=_gold(gold))
    except KeyError as e:
        _fail(ValueError(e.args[0]))
    if fmt == "table":
        rows = [{k: v for k, v in r.items() if k != "response"} for r in rows]
    _emit(rows, fmt)


@main.command(help="Per-example differences between two label versions (a round name or a "
                   "file), each at a git revision if given, with counts by kind of change.")
@click.argument("a")
@click.argument("b")
@click.option("--rev-a", help="git revision of A (read through dvc.api)")
@click.option("--rev-b", help="git revision of B (default: the workspace)")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--labels-dir", default="data/labels", show_default=True)
@click.option("--gold", default="data/gold/train.jsonl", show_default=True)
@click.pass_context
def diff(ctx, a, b, rev_a, rev_b, fmt, labels_dir, gold):
    params, task = _load(ctx.obj["params"])

    def resolve(name):
        return name if name.endswith(".jsonl") else str(Path(labels_dir) / f"{name}.jsonl")

    try:
        old = read_records_at(resolve(a), rev=rev_a, required=("id", "response"))
        new = read_records_at(resolve(b), rev=rev_b, required=("id", "response"))
    except DataFileError as e:
        _fail(e)
    rows, counts = diff_labels(old, new, task=task, gold=_gold(gold))
    _emit(rows, fmt, counts)
    if fmt != "table":
        click.echo(json.dumps(counts), err=True)


@main.command(help="One static HTML page for a run: accuracy and label accuracy by round, "
                   "replacement precision, KL, data-quality results and sample replacements.")
@click.option("--out", default="reports/ilr.html", show_default=True)
@click.option("--samples", default=5, show_default=True, help="replacements shown per kind")
@click.pass_context
def report(ctx, out, samples):
    from ilr.report import write_report

    params, task = _load(ctx.obj["params"])
    write_report(params, task=task, out=out, samples=samples)
    click.echo(f"wrote {out}")
