import operator

import pytest

from ilr.tasks.arith import ArithSpec, generate_records, parse_solution_lines
from ilr.tasks.grading import extract_answer

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def test_same_seed_same_problems_other_seed_other_problems():
    spec = ArithSpec()
    a = generate_records(spec, n=50, seed=3, split="train")
    assert a == generate_records(spec, n=50, seed=3, split="train")
    assert [r["prompt"] for r in a] != [r["prompt"] for r in generate_records(spec, n=50, seed=4, split="train")]


@pytest.mark.parametrize("spec", [ArithSpec(), ArithSpec(steps=4, min_value=1, max_value=50),
                                  ArithSpec(steps=3, ops=["+", "-"])])
def test_gold_solutions_are_arithmetically_consistent(spec):
    for record in generate_records(spec, n=300, seed=0, split="train"):
        lines = parse_solution_lines(record["response"])
        assert len(lines) == spec.steps
        for a, op, b, c in lines:
            assert OPS[op](a, b) == c, record
            assert op in spec.ops and spec.min_value <= b <= spec.max_value
            assert c >= 0
        for (_, _, _, c), (a, _, _, _) in zip(lines, lines[1:]):
            assert a == c, record  # each step starts from the previous result
        assert extract_answer(record["response"]) == record["answer"] == str(lines[-1][3])
        # every operand of the solution is stated in the problem
        for a, op, b, c in lines:
            assert f" {b} " in record["prompt"]


def test_ids_are_stable_and_test_split_excludes_train_prompts():
    spec = ArithSpec()
    train = generate_records(spec, n=200, seed=0, split="train")
    test = generate_records(spec, n=200, seed=0, split="test", exclude={r["prompt"] for r in train})
    assert [r["id"] for r in train[:2]] == ["arith-train-00000", "arith-train-00001"]
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in test}
    assert len({r["prompt"] for r in test}) == 200


def test_bad_knobs_are_refused_with_the_key():
    with pytest.raises(ValueError, match="task.arith.ops"):
        ArithSpec(ops=["/"])
    with pytest.raises(ValueError, match="task.arith.steps"):
        ArithSpec(steps=0)
    with pytest.raises(ValueError, match="cannot make"):
        generate_records(ArithSpec(steps=1, min_value=2, max_value=2, ops=["+"]), n=1000, seed=0, split="train")
