import json

import pytest

from ilr.tasks.grading import (NumberFormatError, extract_answer, grade, has_final_answer,
                         normalize_number, read_answer)


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


@pytest.mark.parametrize("text,answer", [
    ("6 + 6 = 12.\n#### 12\n#### 13", "12"),              # two answers: the first counts
    ("#### 12\nWait, 5 + 8 = 13.\n#### 13", "12"),
    ("The answer is #### 7, so\n#### 9", "7"),            # a #### mid-line is still the first
    ("####\n#### 9", "9"),                                # an empty #### gives no number
])
def test_the_first_final_answer_counts(text, answer):
    """The GSM8K reference grader and lm-evaluation-harness take the first ``#### <number>``."""
    assert extract_answer(text) == answer
    assert grade(text, f"#### {answer}")


def test_the_strict_check_and_the_difference_filter_read_the_first_answer():
    from ilr.tasks.task import Task

    task = Task(name="arith", system_prompt="")
    assert has_final_answer("work\n#### 12\n#### 13")
    assert not has_final_answer("work\n#### twelve\n#### 13")  # the first answer is unreadable
    assert not has_final_answer("so #### 12\n#### 13")  # the answer the grader reads is mid-line
    # same first answer, different second: the same answer (not sent to feedback)
    assert task.same_answer("#### 12\n#### 13", "a\n#### 12")
    assert not task.same_answer("#### 13\n#### 12", "a\n#### 12")


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
            perturbed = f"{body}#### {wrong:.12g}"  # :g's 6 digits would round 1450001 to 1.45e+06
            assert not grade(perturbed, row["answer"]), (row["answer"], perturbed)


# The number formats people and models write: each is read right, or refused (None), never
# read as another number. (text, answer)
FORMATS = [
    ("#### \u22127", "-7"),                      # typographic minus U+2212
    ("#### \u20137", "-7"),                      # en dash as a minus
    ("#### \uff0d7", "-7"),                      # fullwidth hyphen-minus
    ("#### -$5", "-5"), ("#### $-5", "-5"), ("#### \u2212\u20ac12.50", "-12.5"),
    ("x = \u22123", "-3"),                       # no ####: the last number keeps its sign
    ("20-30 apples", "30"),                      # a dash between numbers is not a sign
    ("20\u201330 apples", "30"),
    ("answer\u20145", "5"),                      # an em dash is never a minus
    ("#### 1\u202f234", "1234"),                 # narrow no-break space U+202F
    ("#### 1\u00a0234\u00a0567", "1234567"),     # no-break space U+00A0
    ("#### 1\u2009234", "1234"),                 # thin space U+2009
    ("#### 1\u2007234", "1234"),                 # figure space U+2007
    ("she pays 1\u202f234 dollars", "1234"),     # space-like groups in free text too
    ("#### 1 234", "1234"),                      # a plain space after ####
    ("#### 1 234.5", "1234.5"),
    ("#### 1'234", "1234"), ("#### 1\u2019234", "1234"), ("#### 1_234", "1234"),
    ("#### 1,234,567", "1234567"), ("#### 12,34,567", "1234567"),  # western, Indian groups
    ("#### 1.234.567", "1234567"), ("#### 1.234,5", "1234.5"), ("#### 1\u202f234,5", "1234.5"),
    ("#### \u0661\u0662\u0663", "123"),          # Arabic-Indic digits
    ("#### \u0967\u0968", "12"),                 # Devanagari digits
    ("#### \uff14\uff12", "42"),                 # fullwidth digits
    ("#### \u0661\u066c\u0662\u0663\u0664", "1234"),  # Arabic thousands separator
    ("#### \u0663\u066b\u0665", "3.5"),          # Arabic decimal separator
    ("#### .5", "0.5"), ("#### 5.", "5"), ("#### 5.50", "5.5"), ("#### 1.5e3", "1500"),
    ("#### 3/4", "0.75"), ("#### 50%", "50"), ("#### -0", "0"),
    ("#### 12345678901234567891", "12345678901234567891"),  # exact, no float rounding
    ("5 m\u00b2", "5"),                          # a unit's superscript is not a digit
    # refused: the answer counts as missing
    ("#### 1,5", None),                          # a decimal comma, or two numbers?
    ("#### 1,23", None), ("#### 1.2.3", None), ("#### 1,234.567,8", None),
    ("#### 10\u00b2", None),                     # 10 squared
    ("#### \u2460", None), ("#### 1\u00bd", None),  # circled digit, vulgar fraction
    ("#### 1/0", None), ("#### 1e999999", None),
    ("the total is 1 234", None),                # one number or two? (no ####)
]


@pytest.mark.parametrize("text,answer", FORMATS)
def test_number_formats_are_read_right_or_refused(text, answer):
    assert extract_answer(text) == answer


@pytest.mark.parametrize("text", [t for t, a in FORMATS if a is None])
def test_refused_formats_say_why(text):
    with pytest.raises(NumberFormatError) as caught:
        read_answer(text)
    assert len(str(caught.value).splitlines()) == 1 and "'" in str(caught.value)


def test_a_refused_label_never_grades_right():
    assert not grade("#### 1,5", "#### 15") and not grade("#### 1,5", "#### 1.5")
    assert grade("#### \u22121\u202f500", "#### -1,500")


@pytest.mark.parametrize("text, strict", [
    ("3 + 4 = 7.\n#### 7", True), ("#### 1,200", True), ("  #### -3.5 dollars", True),
    ("I think it is 7", False),            # a digit, but no final-answer line
    ("3 + 4 = 7. #### 7", False),          # '####' mid-line
    ("steps\n####", False), ("steps\n#### seven", False), ("", False),
    ("#### 1,23", False),                  # a number that cannot be read without guessing
])
def test_has_final_answer_is_strict_where_extraction_is_lenient(text, strict):
    assert has_final_answer(text) is strict
    if text and not strict and any(c.isdigit() for c in text) and "1,23" not in text:
        assert extract_answer(text) is not None
