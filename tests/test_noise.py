import random
import re

import pytest

from ilr.method.noise import KINDS, corrupt_records, corrupt_response
from ilr.tasks.arith import OPS, ArithSpec, generate_records, parse_solution_lines
from ilr.tasks.grading import grade


@pytest.fixture(scope="module")
def gold():
    return generate_records(ArithSpec(steps=3), n=1000, seed=0, split="train")


@pytest.mark.parametrize("rate", [0.1, 0.4, 0.75])
def test_hits_target_error_rate_and_every_corruption_grades_wrong(gold, rate):
    labels, report = corrupt_records(gold, error_rate=rate, mix={k: 1.0 for k in KINDS}, seed=1)
    wrong = [not grade(lab["response"], g["response"]) for lab, g in zip(labels, gold)]
    assert abs(sum(wrong) / len(gold) - rate) <= 0.03
    assert wrong == [lab["error"] is not None for lab in labels]  # corrupted <=> graded wrong
    assert sum(report["mix"].values()) == report["n_corrupted"] == sum(wrong)
    assert set(report["mix"]) == set(KINDS)  # the realised mix is reported
    assert [lab["id"] for lab in labels] == [g["id"] for g in gold]


def test_corruptions_read_like_solutions(gold):
    rng = random.Random(0)
    for g in gold[:300]:
        for kind in KINDS:
            text, used = corrupt_response(rng, g["response"], kind)
            assert used == kind
            lines = parse_solution_lines(text)
            assert len(lines) == len(parse_solution_lines(g["response"]))
            assert re.search(r"\n#### -?\d+$", text)
            consistent = [OPS[op](a, b) == c for a, op, b, c in lines]
            # a slip breaks exactly one line's arithmetic; a wrong operation or a misread
            # number leaves every line checking out, so only the problem text betrays them
            assert consistent.count(False) == (1 if kind == "slip" else 0), (kind, text)
            for (_, _, _, c), (a, _, _, _) in zip(lines, lines[1:]):
                assert a == c  # the mistake is carried through


def test_same_seed_same_labels(gold):
    a = corrupt_records(gold, error_rate=0.3, mix={"slip": 1, "misread": 2}, seed=5)
    assert a == corrupt_records(gold, error_rate=0.3, mix={"slip": 1, "misread": 2}, seed=5)
    assert set(a[1]["mix"]) <= {"slip", "misread"}


def test_free_text_solutions_get_a_final_slip():
    text, kind = corrupt_response(random.Random(0), "She has five apples, so 5 in all.\n#### 5", "wrong_op")
    assert kind == "final_slip" and not grade(text, "#### 5")


def test_bad_noise_params():
    with pytest.raises(ValueError, match="error_rate"):
        corrupt_records([], error_rate=1.5, mix={"slip": 1}, seed=0)
    with pytest.raises(ValueError, match="supervise.noise.mix"):
        corrupt_records([], error_rate=0.1, mix={"typo": 1}, seed=0)
