"""The great-expectations gate on label versions: planted defects are caught and named."""
import pytest

from ilr.core.params import QualityParams, TaskParams
from ilr.measure.quality import QualityGateError, check_label_version
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.task import task_from_params

TASK = task_from_params(TaskParams())
QUALITY = QualityParams()


@pytest.fixture(scope="module")
def gold():
    return generate_records(ArithSpec(), n=40, seed=0, split="train")


def _labels(gold):
    return [{**g, "source": "test"} for g in gold]


def _check(labels, gold, **kwargs):
    return check_label_version(labels, gold, version="r1", task=TASK, quality=QUALITY, **kwargs)


def test_a_clean_version_passes_and_is_summarised(gold):
    summary = _check(_labels(gold), gold, previous=_labels(gold), alpha=0.15)
    assert summary["success"] and summary["n"] == 40 and summary["warnings"] == 0
    assert summary["expectations"]["expect_column_values_to_be_unique.id"]["success"]
    assert summary["expectations"]["expect_column_mean_to_be_between.changed"]["observed"] == 0.0


def _defect(gold, name):
    labels = _labels(gold)
    if name == "duplicated row":
        return labels + [labels[7]], r"expect_column_values_to_be_unique\(id\).*arith-train-00007"
    if name == "deleted row":
        return labels[:5] + labels[6:], (r"(?s)(?=.*expect_table_row_count_to_equal\(table\): observed 39)"
                                       r"(?=.*missing arith-train-00005)")
    if name == "foreign id":
        labels[3] = {**labels[3], "id": "someone-else"}
        return labels, r"expect_column_distinct_values_to_equal_set\(id\).*extra someone-else"
    if name == "changed prompt":
        labels[2] = {**labels[2], "prompt": "What is 1 + 1?"}
        return labels, r"expect_column_pair_values_to_be_equal\(prompt\).*arith-train-00002"
    if name == "empty response":
        labels[4] = {**labels[4], "response": ""}
        return labels, r"expect_column_value_lengths_to_be_between\(response\).*arith-train-00004"
    if name == "missing response":
        labels[9] = {k: v for k, v in labels[9].items() if k != "response"}
        return labels, r"expect_column_values_to_not_be_null\(response\).*arith-train-00009"
    if name == "number as response":
        labels[1] = {**labels[1], "response": 42}
        return labels, r"expect_column_values_to_be_of_type\(response\)"
    raise KeyError(name)


@pytest.mark.parametrize("name", ["duplicated row", "deleted row", "foreign id", "changed prompt",
                                  "empty response", "missing response", "number as response"])
def test_planted_defects_fail_the_gate_naming_expectation_and_ids(gold, name):
    labels, message = _defect(gold, name)
    with pytest.raises(QualityGateError, match=message):
        _check(labels, gold)


def test_more_changes_than_alpha_fail(gold):
    labels = _labels(gold)
    changed = [{**lab, "response": "#### 0"} if i < 8 else lab for i, lab in enumerate(labels)]
    with pytest.raises(QualityGateError, match=r"expect_column_mean_to_be_between\(changed\): observed 0.2"):
        _check(changed, gold, previous=labels, alpha=0.15)
    assert _check(changed, gold, previous=labels, alpha=0.2)["success"]


def test_labels_without_a_final_answer_line_are_a_warning_not_a_failure(gold):
    # a digit is no final answer: the lenient extraction would read "3" from the first five
    labels = [{**lab, "response": "no final answer here" if i < 5 else "I think it is 3"}
              if i < 10 else lab for i, lab in enumerate(_labels(gold))]
    summary = _check(labels, gold)
    parseable = summary["expectations"]["expect_column_mean_to_be_between.has_final_answer"]
    assert summary["warnings"] == 1 and not parseable["success"] and parseable["observed"] == 0.75
    assert parseable["severity"] == "warning"
