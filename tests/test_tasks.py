import json

import pytest

from ilr.core.io import DataFileError
from ilr.core.params import Gsm8kParams, TaskParams
from ilr.tasks.task import gsm8k_records, load_gold_records, load_gsm8k_split, task_from_params


def test_arith_task_records_and_prompt():
    params = TaskParams(n_train=20, n_test=10, n_supervisor=30)
    splits = load_gold_records(params, seed=0)
    assert [len(splits[s]) for s in ("train", "test", "supervisor")] == [20, 10, 30]
    prompts = [{r["prompt"] for r in splits[s]} for s in ("train", "test", "supervisor")]
    assert not (prompts[0] & prompts[1] or prompts[0] & prompts[2] or prompts[1] & prompts[2])
    task = task_from_params(params)
    messages = task.render_messages(splits["train"][0]["prompt"])
    assert messages[0] == {"role": "system", "content": params.system_prompt}
    assert all(task.grade(r["response"], r["response"]) for r in splits["train"])


def test_same_answer_is_the_difference_filter():
    task = task_from_params(TaskParams())
    assert task.same_answer("2 + 2 = 4.\n#### 4", "1 + 3 = 4. #### 4")
    assert not task.same_answer("#### 4", "#### 5")
    assert not task.same_answer("no answer", "no answer")


def test_gsm8k_from_local_folder(gsm8k_dir):
    params = TaskParams(name="gsm8k", n_train=50, n_test=None, n_supervisor=40,
                        gsm8k=Gsm8kParams(source=str(gsm8k_dir)))
    splits = load_gold_records(params, seed=0)
    assert len(splits["train"]) == 50 and len(splits["test"]) == 1319 and len(splits["supervisor"]) == 40
    assert not {r["id"] for r in splits["train"]} & {r["id"] for r in splits["supervisor"]}
    first = splits["test"][0]
    assert first["id"] == "gsm8k-test-00000" and first["answer"] == "18"
    assert "<<" not in first["response"] and first["response"].endswith("#### 18")
    assert load_gold_records(params, seed=0) == splits  # stable


def test_gsm8k_from_saved_arrow_dataset(gsm8k_dir, tmp_path):
    import datasets

    rows = [json.loads(line) for line in open(gsm8k_dir / "test.jsonl", encoding="utf-8")][:5]
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "arrow"))
    assert load_gsm8k_split(str(tmp_path / "arrow"), "test") == rows


def test_gsm8k_bad_source_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="task.gsm8k.source"):
        load_gsm8k_split(str(tmp_path / "missing"), "train")


def test_gsm8k_records_strip_calculator_annotations():
    rows = [{"question": " Q? ", "answer": "3*4=<<3*4=12>>12\n#### 12"}]
    assert gsm8k_records(rows, split="train") == [
        {"id": "gsm8k-train-00000", "prompt": "Q?", "response": "3*4=12\n#### 12", "answer": "12"}]
