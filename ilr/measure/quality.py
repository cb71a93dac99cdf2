"""Data-quality gates: a great-expectations suite run on every label version before anything
trains on it (gold, r0, each ILR and naive round).

The suite is built with great-expectations' own API (an ephemeral context, a pandas batch, an
``ExpectationSuite``); a failed critical expectation stops the stage that writes the version
with a message naming the expectation and the ids, and nothing is written. Warnings (the share
of labels with a final answer) are reported in ``metrics/quality/<version>.json`` only.
"""
from __future__ import annotations

import os

from ilr.core.params import QualityParams
from ilr.tasks.task import Task

REQUIRED = ("id", "prompt", "response")
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["id"]}


class QualityGateError(ValueError):
    """A label version that failed a critical expectation."""


def build_label_frame(labels: list[dict], gold: list[dict], *, task: Task,
                      previous: list[dict] | None = None):
    """One row per label with the columns the suite checks."""
    import pandas as pd

    gold_prompts = {g["id"]: g["prompt"] for g in gold}
    before = {p["id"]: p["response"] for p in previous or []}
    rows = []
    for lab in labels:
        response = lab.get("response")
        rows.append({**{k: lab.get(k) for k in REQUIRED},
                     "gold_prompt": gold_prompts.get(lab.get("id")),
                     "has_final_answer": int(isinstance(response, str)
                                             and task.has_final_answer(response)),
                     "changed": int(lab.get("id") in before and before[lab.get("id")] != response)})
    return pd.DataFrame(rows, columns=[*REQUIRED, "gold_prompt", "has_final_answer", "changed"])


def build_label_suite(*, version: str, gold_ids: list, quality: QualityParams,
                      alpha: float | None = None):
    """The expectations every label version must meet; ``alpha`` caps the changed share."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=f"labels-{version}")
    for column in REQUIRED:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
        suite.add_expectation(gxe.ExpectColumnValuesToBeOfType(column=column, type_="str"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="id"))
    suite.add_expectation(gxe.ExpectTableRowCountToEqual(value=len(gold_ids)))
    suite.add_expectation(gxe.ExpectColumnDistinctValuesToEqualSet(column="id", value_set=gold_ids))
    suite.add_expectation(gxe.ExpectColumnPairValuesToBeEqual(column_A="prompt", column_B="gold_prompt"))
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(
        column="response", min_value=quality.min_response_chars,
        max_value=quality.max_response_chars))
    if alpha is not None:
        suite.add_expectation(gxe.ExpectColumnMeanToBeBetween(column="changed", max_value=alpha))
    suite.add_expectation(gxe.ExpectColumnMeanToBeBetween(
        column="has_final_answer", min_value=quality.min_has_final_answer, severity="warning"))
    return suite


def open_context():
    """An ephemeral great-expectations context (nothing written to disk); suites need one."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def validate_labels(context, frame, suite) -> list[dict]:
    """Run ``suite`` on ``frame``: one summary row per expectation."""
    batch = (context.data_sources.add_pandas("labels").add_dataframe_asset("labels")
             .add_batch_definition_whole_dataframe("whole")
             .get_batch(batch_parameters={"dataframe": frame}))
    result = batch.validate(suite, result_format=RESULT_FORMAT)
    return [summarize_result(r) for r in result.results]


def summarize_result(result) -> dict:
    config, found = result.expectation_config, result.result
    column = config.kwargs.get("column") or config.kwargs.get("column_A") or "table"
    ids = [row.get("id") for row in found.get("unexpected_index_list") or []]
    if config.type == "expect_column_distinct_values_to_equal_set":
        ids = [f"extra {i}" for i in found.get("partial_unexpected_list") or []] + \
              [f"missing {i}" for i in found.get("partial_missing_list") or []]
    observed = found.get("observed_value")
    return {"expectation": config.type, "column": column, "success": bool(result.success),
            "severity": getattr(config.severity, "value", str(config.severity)),
            "observed": float(observed) if isinstance(observed, (int, float)) else None,
            "n_unexpected": found.get("unexpected_count", 0 if result.success else None),
            "ids": sorted({str(i) for i in ids})}


def check_label_version(labels: list[dict], gold: list[dict], *, version: str, task: Task,
                        quality: QualityParams, previous: list[dict] | None = None,
                        alpha: float | None = None, path: str = "") -> dict:
    """Gate a label version; returns the summary for ``metrics/quality/<version>.json`` or
    raises :class:`QualityGateError` naming each failed critical expectation and its ids."""
    frame = build_label_frame(labels, gold, task=task, previous=previous)
    context = open_context()
    suite = build_label_suite(version=version, quality=quality, alpha=alpha,
                              gold_ids=[g["id"] for g in gold])
    rows = validate_labels(context, frame, suite)
    failed = [r for r in rows if not r["success"] and r["severity"] == "critical"]
    if failed:
        lines = [f"  {r['expectation']}({r['column']}): " + ", ".join(
            ([f"observed {r['observed']:g}"] if r["observed"] is not None else [])
            + ([f"{r['n_unexpected']} unexpected"] if r["n_unexpected"] else [])
            + ([f"ids {r['ids'][:10]}"] if r["ids"] else [])) for r in failed]
        raise QualityGateError(f"{path or version}: label version {version!r} failed the quality "
                               "gate:\n" + "\n".join(lines) + "\nfix the file or the params; "
                               "nothing was written")
    return {"version": version, "success": True, "n": len(labels),
            "warnings": sum(not r["success"] for r in rows),
            "expectations": {f"{r['expectation']}.{r['column']}": {
                k: r[k] for k in ("success", "severity", "observed", "n_unexpected")
                if r[k] is not None} for r in rows}}
