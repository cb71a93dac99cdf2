"""The pull-request comment of a CI run (`ilr comment`, called by .ci/gpu-repro.sh): what changed
against the base branch, as DVC says it (`dvc metrics diff BASE --md`, `dvc params diff BASE
--md`), and the label accuracy by round, read from ``metrics/labels/<version>.json``.

    ilr comment --base main --out comment.md
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from ilr.core.io import DataFileError, read_json
from ilr.core.params import ParamsError, load_params
from ilr.report.audit import order_versions

LABEL_COLUMNS = ["version", "prev", "mode", "label_accuracy", "change", "n_replaced", "n_fixed",
                 "n_broken"]


def read_label_metrics(metrics_dir: str | Path, versions: list[str]) -> dict[str, dict]:
    """``{version: metrics}`` for the versions whose ``<metrics_dir>/labels/<version>.json``
    exists (a round not run yet has none)."""
    paths = {v: Path(metrics_dir) / "labels" / f"{v}.json" for v in versions}
    return {v: read_json(path) for v, path in paths.items() if path.is_file()}


def label_accuracy_rows(rounds: dict, label_metrics: dict[str, dict]) -> list[dict]:
    """One row per label version with metrics, r0 first, then the rounds by depth: its label
    accuracy, the change from the version it refines, and the labels it replaced, fixed and
    broke."""
    rows = []
    for version in order_versions(rounds):
        if version not in label_metrics:
            continue
        metrics, prev = label_metrics[version], rounds[version].prev if version in rounds else None
        before = label_metrics.get(prev, {}).get("label_accuracy")
        accuracy = metrics.get("label_accuracy")
        rows.append({"version": version, "prev": prev,
                     "mode": rounds[version].mode if version in rounds else "supervisor",
                     "label_accuracy": accuracy,
                     "change": None if before is None or accuracy is None else accuracy - before,
                     **{k: metrics.get(k) for k in ("n_replaced", "n_fixed", "n_broken")}})
    return rows


def _cell(column: str, value) -> str:
    if value is None:
        return ""
    if column == "label_accuracy":
        return f"{100 * value:.1f}%"
    if column == "change":
        return f"{100 * value:+.1f} pts"
    return str(value)


def label_table_markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(LABEL_COLUMNS) + " |", "|" + "---|" * len(LABEL_COLUMNS)]
    lines += ["| " + " | ".join(_cell(c, row[c]) for c in LABEL_COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def comment_markdown(*, title: str, base: str, metrics_diff: str, params_diff: str,
                     label_rows: list[dict], missing: list[str]) -> str:
    """The comment: DVC's two diffs against ``base`` (or a line saying nothing changed) and
    the label accuracy by round, naming the versions without label metrics."""
    parts = [f"## {title}", f"### Metrics against `{base}`",
             metrics_diff.strip() or f"No metric changed against `{base}`.",
             f"### Params against `{base}`",
             params_diff.strip() or f"No param changed against `{base}`.",
             "### Label accuracy by round",
             label_table_markdown(label_rows) if label_rows else "No label metrics yet."]
    if missing:
        parts.append("Not built yet (no `metrics/labels/<version>.json`): " +
                     ", ".join(f"`{v}`" for v in missing) + ".")
    return "\n\n".join(parts) + "\n"


def dvc_diff_markdown(kind: str, base: str) -> str:
    """`dvc <kind> diff <base> --md` in the current repo (``kind``: metrics or params)."""
    command = [sys.executable, "-m", "dvc", kind, "diff", base, "--md"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`dvc {kind} diff {base} --md` failed (exit {result.returncode}): "
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _short_head() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "the workspace"


@click.command(help="The pull-request comment of a CI run, as Markdown: `dvc metrics diff BASE "
                    "--md`, `dvc params diff BASE --md` and the label accuracy by round "
                    "(metrics/labels/<version>.json). Run it from the repository root after "
                    "`dvc repro`.")
@click.option("--base", default="main", show_default=True,
              help="the git revision the workspace is compared with")
@click.option("--out", help="write the comment to this file (default: print it)")
@click.option("--metrics-dir", default="metrics", show_default=True)
@click.option("--title", help="the heading (default: `dvc repro` at HEAD's short hash)")
@click.pass_context
def comment(ctx, base, out, metrics_dir, title):
    try:
        params = load_params(ctx.obj["params"])
        versions = order_versions(params.rounds)
        label_metrics = read_label_metrics(metrics_dir, versions)
        body = comment_markdown(
            title=title or f"`dvc repro` at {_short_head()}", base=base,
            metrics_diff=dvc_diff_markdown("metrics", base),
            params_diff=dvc_diff_markdown("params", base),
            label_rows=label_accuracy_rows(params.rounds, label_metrics),
            missing=[v for v in versions if v not in label_metrics])
    except (ParamsError, DataFileError, RuntimeError) as e:
        raise click.ClickException(str(e)) from None
    if out:
        Path(out).write_text(body, encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(body, nl=False)
