import json

import pytest

from ilr.grading import extract_answer, grade, normalize_number


@pytest.mark.parametrize("text,answer", [
    ("3 * 4 = 12. 12 + 12 = 24.\n#### 24", "24"),
    ("#### $1,200.00", "1200"),
    ("#### 5.50", "5.5"),
    ("#### -7", "-7"),
    ("so she has 12 apples and then 13", "13"),  # no ####: the last number
    ("#### 18\nThe answer is 3", "18"),          # #### wins over a later number
    ("no number at all", None),
])
def test_extract_answer(text, answer):
    assert extract_answer(text) == answer


def test_normalize_number_forms_agree():
    assert normalize_number("$1,000") == normalize_number("1000.0") == normalize_number("1000") == "1000"
    assert normalize_number("abc") is None


def test_grade_rejects_missing_answer():
    assert not grade("I don't know", "#### 4")
    assert not grade("#### 4", "no gold number")


def _gold_answers(gsm8k_dir, limit=None):
    with open(gsm8k_dir / "test.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return rows[:limit] if limit else rows


def test_every_gsm8k_test_answer_grades_correct_against_itself(gsm8k_dir):
    rows = _gold_answers(gsm8k_dir)
    assert len(rows) == 1319
    assert all(grade(r["answer"], r["answer"]) for r in rows)


def test_perturbed_gsm8k_final_numbers_grade_wrong(gsm8k_dir):
    for row in _gold_answers(gsm8k_dir):
        body, final = row["answer"].rsplit("####", 1)
        value = float(final.strip().replace(",", ""))
        for wrong in (value + 1, value * 10 + 3):
            perturbed = f"{body}#### {wrong:g}"
            assert not grade(perturbed, row["answer"]), (row["answer"], perturbed)
