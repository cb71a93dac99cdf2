"""The `ilr` command: audit and compare label versions from the outputs of `dvc repro`.

    ilr audit --round r1 --accepted      which labels did round r1 replace, and was that right?
    ilr history arith-train-00012        what happened to one example across rounds?
    ilr diff r1 r1 --rev-a HEAD~1        what changed since the last commit?
    ilr report                           one static HTML page for the run
    ilr summary                          every arm by round: label and test accuracy, KL
    ilr quick                            the whole pipeline at tiny sizes, then the report
    ilr sweep                            label accuracy against feedback accuracy, by flip rate
    ilr comment --base main              a CI run's pull-request comment (metrics, params, labels)
    ilr compare --run s0=../s0 --run ...  seed runs side by side: paired tests, the paper's claims
    ilr judge export refine@r1           a round's comparisons as Label Studio tasks (judge import: back)

Paths default to the layout of dvc.yaml; run it from the repository root.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from ilr.core.io import DataFileError, read_jsonl, read_records, read_records_at
from ilr.core.missing import absent_versions, missing_line, missing_metrics_line
from ilr.core.params import ParamsError, load_params
from ilr.measure.compare import compare
from ilr.method.judge_commands import judge
from ilr.report.audit import build_audit_rows, build_history, count_audit_rows, diff_labels, order_versions
from ilr.report.pr_comment import comment
from ilr.tasks.task import task_from_params

FORMATS = click.Choice(["table", "csv", "jsonl"])


def _fail(error: Exception):
    raise click.ClickException(str(error))


def _load(params_path: str):
    try:
        params = load_params(params_path)
    except ParamsError as e:
        _fail(e)
    return params, task_from_params(params.task)


def _missing(paths: list[Path], versions: list[str], rounds: dict, what: str):
    raise click.ClickException(missing_line(paths, versions, rounds, what=what))


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
    names = [round_name] if round_name else order_versions(params.rounds)[1:]
    missing, paths = absent_versions(audit_dir, names)
    if missing:
        if len(missing) == len(names):
            _missing(paths, missing, params.rounds, "ilr audit")
        click.echo(missing_line(paths, missing, params.rounds, what="ilr audit"), err=True)
    rows = []
    for name in (name for name in names if name not in missing):
        rows += build_audit_rows(read_jsonl(Path(audit_dir) / f"{name}.jsonl", allow_empty=True),
                                 task=task, round_name=name,
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
    versions, audits, names = {}, {}, order_versions(params.rounds)
    missing, paths = absent_versions(labels_dir, names)
    line = missing_line(paths, missing, params.rounds, what="ilr history") if missing else None
    if missing and len(missing) == len(names):
        _fail(ValueError(line))
    for name in names:
        if (Path(labels_dir) / f"{name}.jsonl").is_file():
            versions[name] = {r["id"]: r for r in read_records(Path(labels_dir) / f"{name}.jsonl")}
        if (Path(audit_dir) / f"{name}.jsonl").is_file():
            audits[name] = {a["id"]: a for a in read_jsonl(Path(audit_dir) / f"{name}.jsonl",
                                                           allow_empty=True)}
    try:
        rows = build_history(example_id, versions=versions, audits=audits, rounds=params.rounds,
                             task=task, gold=_gold(gold))
    except KeyError as e:
        _fail(ValueError(line or e.args[0]))
    if line:
        click.echo(line, err=True)
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

    versions = order_versions(params.rounds)
    absent = list(dict.fromkeys(name for name, rev in ((a, rev_a), (b, rev_b))
                                if rev is None and not Path(resolve(name)).is_file()))
    for name in (n for n in absent if not n.endswith(".jsonl") and n not in versions):
        _fail(ValueError(f"{name!r}: not a label version of {ctx.obj['params']}; choose one of "
                         f"{versions}, or give a .jsonl file"))
    missing = [name for name in absent if name in versions]
    if missing:
        _missing([Path(resolve(name)) for name in missing], missing, params.rounds, "ilr diff")
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
    from ilr.report.report import write_report

    params, task = _load(ctx.obj["params"])
    write_report(params, task=task, out=out, samples=samples)
    click.echo(f"wrote {out}")
    missing, paths = absent_versions("data/audit", order_versions(params.rounds)[1:])
    if missing:  # the page is written from the committed metrics, without sample replacements
        click.echo(missing_line(paths, missing, params.rounds,
                                what="ilr report (written without sample replacements)"), err=True)


@main.command(help="The comparison of reports/summary.json (written by the `report` stage), one "
                   "row per arm and round: label accuracy, test accuracy, KL from the round-0 "
                   "policy, labels fixed and broken. Reads only committed files: no compute.")
@click.option("--summary", "path", default="reports/summary.json", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "jsonl"]),
              default="table", show_default=True)
def summary(path, fmt):
    if not Path(path).is_file():
        _fail(ValueError(missing_metrics_line([Path(path)], what="ilr summary")))
    from ilr.report.summary import summary_table_rows

    rows = summary_table_rows(json.loads(Path(path).read_text(encoding="utf-8")))
    if fmt in ("md", "table"):
        from tabulate import tabulate

        click.echo(tabulate(rows, headers="keys", tablefmt="github" if fmt == "md" else "simple",
                            floatfmt=".4g", missingval="") if rows else "(no rows)")
        return
    _emit(rows, fmt)


@main.command(help="The quick profile: every stage (ILR rounds r1 and r2, naive round n1, DPO "
                   "round d1, the report) at tiny sizes on the embedded model, as one `dvc exp "
                   "run -S ...` in the workspace, then `ilr report`. Measured on 2 CPU cores: "
                   "see README. The workspace then holds the quick run's params and outputs "
                   "(`dvc exp show` lists it); the committed full run stays in git.")
@click.option("--profile", "profile_path", default="profiles/quick.yaml", show_default=True,
              help="params overrides (see ilr/core/profiles.py)")
@click.option("--name", help="experiment name (default: dvc picks one)")
@click.option("--dry-run", is_flag=True, help="print the dvc command and exit")
@click.pass_context
def quick(ctx, profile_path, name, dry_run):
    import shlex
    import subprocess
    import time

    from ilr.core.profiles import ProfileError, checked_exp_run_command

    if Path(ctx.obj["params"]).name != "params.yaml":
        _fail(ValueError("ilr quick sets params.yaml, the file the stages of dvc.yaml read"))
    try:
        command = checked_exp_run_command(ctx.obj["params"], profile_path, name=name)
    except ProfileError as e:
        _fail(e)
    click.echo("$ " + shlex.join(command))
    if dry_run:
        return
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", *command])
    minutes = (time.monotonic() - start) / 60
    if result.returncode != 0:
        _fail(RuntimeError(f"dvc exp run failed (exit {result.returncode}) after {minutes:.1f} "
                           "minutes; its output above names the stage"))
    from ilr.report.report import write_report

    params, task = _load(ctx.obj["params"])
    out = Path("reports/ilr.html")
    write_report(params, task=task, out=out)
    click.echo(f"quick run: {minutes:.1f} minutes. Report: {out} ({out.resolve().as_uri()})")
    click.echo("Also: `ilr summary`, `dvc plots show`, `ilr audit`. The workspace now holds the "
               "quick run (`dvc exp show`); `git checkout HEAD -- params.yaml dvc.lock metrics "
               "plots reports` brings back the committed full run's files.")


@main.command(help="The feedback-reliability sweep: one `dvc exp run` per oracle flip rate (the "
                   "default last) of an ILR round and a DPO round, then test accuracy and label-"
                   "accuracy change against the feedback's measured accuracy, with break-even, "
                   "as CSVs for dvc plots.")
@click.option("--flip-rates", default=",".join(str(f) for f in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
              show_default=True, help="comma-separated oracle flip rates")
@click.option("--round", "round_name", default="r1", show_default=True)
@click.option("--dpo-round", default="d1", show_default=True, help="'' for none")
@click.option("--labels-only", is_flag=True,
              help="run only refine@<round> (label accuracy, ~1 min a point) instead of training "
                   "and evaluating both arms (~20 min a point on 2 cores)")
@click.option("--out", default="plots/sweep", show_default=True, help="folder of the CSVs")
@click.pass_context
def sweep(ctx, flip_rates, round_name, dpo_round, labels_only, out):
    from ilr.measure.sweep import run_sweep

    params, _ = _load(ctx.obj["params"])
    try:
        rows = run_sweep(params, flip_rates=[float(f) for f in flip_rates.split(",")],
                         round_name=round_name, dpo_round=dpo_round or None,
                         labels_only=labels_only, out=out, echo=click.echo)
    except (ValueError, RuntimeError) as e:
        _fail(e)
    _emit(rows, "table")


main.add_command(comment)
main.add_command(compare)
main.add_command(judge)
