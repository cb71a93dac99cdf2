"""`ilr judge`: a round's compared items out as Label Studio tasks, annotations back as the
judgments file, on a planted round (10 wrong labels fixed by proposals, 5 right labels broken by
them) with a simulated annotator whose choices, times and mistakes are known."""
import json
import random
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ilr.cli import main
from ilr.core.io import read_jsonl, read_records, write_jsonl
from ilr.method.feedback import file_scores, judgment_stats, read_judgments
from ilr.method.judge import (ExportError, judgments_from_export, label_studio_tasks,
                              labeling_config, stage_items)
from ilr.method.noise import corrupt_records
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.grading import grade

REPO = Path(__file__).resolve().parents[1]
STAGE = "refine@r1"


@pytest.fixture
def round_dir(tmp_path, monkeypatch):
    """A repo layout with r0 labels (10 of 40 wrong), proposals that fix the 10 wrong ones and
    break 5 right ones (the other 25 agree with their label), alpha 1 so no cap interferes."""
    gold = generate_records(ArithSpec(), n=40, seed=0, split="train")
    r0, _ = corrupt_records(gold, error_rate=0.25, mix={"slip": 1}, seed=0)
    broken, _ = corrupt_records(gold, error_rate=1.0, mix={"slip": 1}, seed=1)
    right = [r["id"] for r in r0 if not r["error"]][:5]
    proposals = []
    for g, lab, bad in zip(gold, r0, broken):
        text = g["response"] if lab["error"] else bad["response"] if g["id"] in right \
            else lab["response"]
        proposals.append({"id": g["id"], "proposal": text})
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["feedback"]["kind"] = "file"
    params["refine"]["alpha"] = 1.0
    params["rounds"] = {"r1": {"prev": "r0", "mode": "feedback"}, "n1": {"prev": "r0", "mode": "naive"}}
    params["propose"]["versions"] = ["r0"]
    params["seeds"] = []
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    write_jsonl(tmp_path / "data/gold/train.jsonl", gold)
    write_jsonl(tmp_path / "data/labels/r0.jsonl", r0)
    write_jsonl(tmp_path / "data/proposals/r0.jsonl", proposals)
    (tmp_path / "inputs/judgments").mkdir(parents=True)
    (tmp_path / "inputs/judgments/r1.jsonl").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path, gold, sorted(r["id"] for r in r0 if r["error"]), sorted(right)


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


def annotate(tasks: list[dict], gold: list[dict], *, mistakes=(), slow=(), seed=0) -> list[dict]:
    """Label Studio's JSON export after an annotator who picks the right answer (wrong on the
    ids in ``mistakes``) in 5-60 s (``slow`` ids take 500 s)."""
    rng, by_id, export = random.Random(seed), {g["id"]: g for g in gold}, []
    for k, task in enumerate(tasks, start=1):
        data = task["data"]
        a_right = grade(data["answer_a"], by_id[data["id"]]["response"])
        letter = "A" if a_right != (data["id"] in mistakes) else "B"
        export.append({"id": k, "data": data, "annotations": [{
            "id": 100 + k, "was_cancelled": False, "lead_time": 500.0 if data["id"] in slow
            else round(rng.uniform(5, 60), 1),
            "result": [{"from_name": "choice", "to_name": "question", "type": "choices",
                        "value": {"choices": [letter]}}]}]})
    return export


def test_export_writes_the_rounds_compared_items_in_a_seeded_order(round_dir):
    root, gold, wrong, right = round_dir
    result = _invoke("judge", "export", STAGE)
    assert result.exit_code == 0, result.output
    tasks = json.loads((root / "judge/refine@r1/tasks.json").read_text())
    assert sorted(t["data"]["id"] for t in tasks) == sorted(wrong + right)  # the 25 agreeing: none
    seconds = {t["data"]["second"] for t in tasks}
    assert seconds == {"proposal", "label"}  # both orders occur
    again = _invoke("judge", "export", STAGE, "--out-dir", "again")
    assert json.loads((root / "again/refine@r1/tasks.json").read_text()) == tasks  # seeded
    config = (root / "judge/refine@r1/config.xml").read_text()
    assert "$answer_a" in config and "$answer_b" in config and "120 seconds" in config
    assert '<Choice value="A"/>' in config and '<Choice value="B"/>' in config


def test_import_then_refine_replaces_exactly_what_the_annotator_accepted(round_dir, capsys):
    from stages.refine import main as refine

    root, gold, wrong, right = round_dir
    assert _invoke("judge", "export", STAGE).exit_code == 0
    tasks = json.loads((root / "judge/refine@r1/tasks.json").read_text())
    mistakes = {wrong[0], right[0]}  # keeps one fix out, lets one break in
    (root / "export.json").write_text(json.dumps(annotate(tasks, gold, mistakes=mistakes)))
    result = _invoke("judge", "import", STAGE, "export.json")
    assert result.exit_code == 0, result.output
    lines = read_jsonl(root / "inputs/judgments/r1.jsonl")
    accepted = sorted(line["id"] for line in lines if line["choice"] == "proposal")
    assert accepted == sorted(set(wrong) - {wrong[0]} | {right[0]})
    refine(["--params", "params.yaml", "--round", "r1", "--labels", "data/labels/r0.jsonl",
            "--proposals", "data/proposals/r0.jsonl", "--gold", "data/gold/train.jsonl",
            "--judgments", "inputs/judgments/r1.jsonl", "--out", "data/labels/r1.jsonl",
            "--audit", "data/audit/r1.jsonl", "--metrics", "metrics/labels/r1.json",
            "--quality", "metrics/quality/r1.json"])
    replaced = sorted(a["id"] for a in read_jsonl(root / "data/audit/r1.jsonl") if a["accepted"])
    assert replaced == accepted
    metrics = json.loads((root / "metrics/labels/r1.json").read_text())["judgments"]
    assert metrics["n_judgments"] == 15 and 5 <= metrics["median_seconds"] <= 60
    shown_second = [line for line in lines if line["choice"] == line["shown_second"]]
    assert metrics["share_shown_second"] == pytest.approx(len(shown_second) / 15)


def test_position_bias_is_measured(round_dir):
    """An annotator who always picks (B) chose the answer shown second every time."""
    root, gold, wrong, right = round_dir
    items = _items(root)
    tasks = label_studio_tasks(items, stage=STAGE, seed=0, time_limit_s=120)
    export = annotate(tasks, gold)
    for task in export:
        task["annotations"][0]["result"][0]["value"]["choices"] = ["B"]
    lines = judgments_from_export(export, items=items, stage=STAGE, time_limit_s=120)
    stats = judgment_stats(lines)
    assert stats["share_shown_second"] == 1.0
    assert {line["choice"] for line in lines} == {"proposal", "label"}  # B is either, by order


def _items(root):
    from ilr.core.params import load_params
    from ilr.tasks.task import task_from_params

    params = load_params(root / "params.yaml")
    records = {"labels": read_records(root / "data/labels/r0.jsonl"),
               "proposals": read_records(root / "data/proposals/r0.jsonl", required=("id", "proposal")),
               "gold": read_records(root / "data/gold/train.jsonl")}
    return stage_items("refine", records, params=params, task=task_from_params(params.task))


@pytest.mark.parametrize("policy, expect", [("keep_label", "label"), ("use", "proposal")])
def test_a_judgment_over_the_time_limit_follows_the_policy(round_dir, policy, expect):
    root, gold, wrong, right = round_dir
    items = _items(root)
    tasks = label_studio_tasks(items, stage=STAGE, seed=0, time_limit_s=120)
    export = annotate(tasks, gold, slow={wrong[1]})
    lines = judgments_from_export(export, items=items, stage=STAGE, time_limit_s=120,
                                  over_limit=policy)
    slow = next(line for line in lines if line["id"] == wrong[1])
    assert slow["over_limit"] is True and slow["choice"] == expect
    assert sum("over_limit" in line for line in lines) == 1
    with pytest.raises(ExportError, match=r"1 judgment\(s\) took longer than feedback.human.time_limit_s"):
        judgments_from_export(export, items=items, stage=STAGE, time_limit_s=120, over_limit="refuse")


def _bad(export, case, wrong):
    task = next(t for t in export if t["data"]["id"] == wrong[2])
    if case == "missing":
        export.remove(task)
    elif case == "extra":
        export.append({**task, "id": 999, "data": {**task["data"], "id": "arith-train-99999"}})
    elif case == "twice":
        export.append({**task, "id": 998})
    elif case == "skipped":
        task["annotations"][0].update(was_cancelled=True, result=[])
    elif case == "unannotated":
        task["annotations"] = []
    elif case == "two_annotations":
        task["annotations"].append(dict(task["annotations"][0], id=7))
    elif case == "unknown_choice":
        task["annotations"][0]["result"][0]["value"]["choices"] = ["Both"]
    elif case == "other_stage":
        task["data"] = {**task["data"], "stage": "refine@r2"}
    elif case == "changed_answers":
        task["data"] = {**task["data"], "answer_a": "#### 0"}
    elif case == "no_lead_time":
        del task["annotations"][0]["lead_time"]
    elif case == "not_a_list":
        return {"tasks": export}
    return export


BAD = {
    "missing": r"1 compared item\(s\) of refine@r1 have no task",
    "extra": r"1 task\(s\) are not among refine@r1's compared items, e.g. \['arith-train-99999'\]",
    "twice": r"the item is a task twice",
    "skipped": r"skipped in Label Studio \(was_cancelled\)",
    "unannotated": r"not annotated",
    "two_annotations": r"2 annotations; keep one per task",
    "unknown_choice": r"unknown choice \[\['Both'\]\]",
    "other_stage": r"from 'refine@r2', not 'refine@r1'",
    "changed_answers": r"its answers are no longer the stage's",
    "no_lead_time": r"lead_time None is not a number of seconds",
    "not_a_list": r"not a Label Studio JSON export",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_export_is_one_line_and_changes_nothing(round_dir, case):
    root, gold, wrong, right = round_dir
    assert _invoke("judge", "export", STAGE).exit_code == 0
    tasks = json.loads((root / "judge/refine@r1/tasks.json").read_text())
    (root / "export.json").write_text(json.dumps(_bad(annotate(tasks, gold), case, wrong)))
    before = (root / "inputs/judgments/r1.jsonl").read_bytes()
    result = _invoke("judge", "import", STAGE, "export.json")
    assert result.exit_code == 1
    message = result.output.strip()
    assert message.startswith("Error: export.json: ") and "\n" not in message
    assert re.search(BAD[case], message), message
    assert (root / "inputs/judgments/r1.jsonl").read_bytes() == before


def test_missing_inputs_name_the_stage_to_run(round_dir):
    root, *_ = round_dir
    (root / "data/proposals/r0.jsonl").unlink()
    result = _invoke("judge", "export", STAGE)
    assert result.exit_code == 1
    assert "data/proposals/r0.jsonl, not here; run `dvc repro propose@r0` first" in result.output
    naive = _invoke("judge", "export", "refine@n1")
    assert naive.exit_code == 1 and "a naive round asks for no feedback" in naive.output
    unknown = _invoke("judge", "export", "train@r1")
    assert unknown.exit_code == 1 and "refine@<round>, dpo_pairs@<round> or feedback" in unknown.output


def test_the_feedback_stages_two_roles_share_one_judgment(tmp_path):
    """Stage `feedback` asks each answer pair in both roles; one judgment answers the first
    role and the second gets its complement, so a right judgment is right in both."""
    items = [{"id": "a", "prompt": "q", "label": "wrong", "proposal": "gold", "want": True},
             {"id": "a", "prompt": "q", "label": "gold", "proposal": "wrong", "want": False}]
    judgments = {("a", 0): {"id": "a", "choice": "proposal", "seconds": 3}}
    assert file_scores(items, judgments, path="j.jsonl") == [1.0, 0.0]


def test_dpo_pairs_are_judged_pair_by_pair(tmp_path):
    path = tmp_path / "d1.jsonl"
    gold_ids = {"a"}
    path.write_text("".join(json.dumps(line) + "\n" for line in [
        {"id": "a", "pair": 0, "choice": "proposal", "seconds": 1},
        {"id": "a", "pair": 1, "choice": "label", "seconds": 2}]))
    judgments = read_judgments(str(path), gold_ids)
    items = [{"id": "a", "pair": p, "prompt": "q", "label": f"x{p}", "proposal": f"y{p}"} for p in (0, 1)]
    assert file_scores(items, judgments, path=str(path)) == [1.0, 0.0]
    path.write_text(path.read_text() + json.dumps({"id": "a", "pair": 1, "choice": "label",
                                                   "seconds": 2}) + "\n")
    with pytest.raises(ValueError, match=r"d1.jsonl:3: id 'a': judged twice \(first on line 2\)"):
        read_judgments(str(path), gold_ids)


def test_the_labeling_config_is_xml_with_the_time_budget():
    import xml.etree.ElementTree as ET

    view = ET.fromstring(labeling_config(90))
    texts = [t.get("value") for t in view.iter("Text")]
    assert texts == ["$question", "$answer_a", "$answer_b"]
    assert any("90 seconds" in (h.get("value") or "") for h in view.iter("Header"))
    choices = view.find("Choices")
    assert choices.get("name") == "choice" and choices.get("required") == "true"


def test_dpo_pairs_and_the_feedback_stage_round_trip_through_an_export(round_dir):
    """A DPO round's sample pairs are one task each; the feedback stage's two roles of an answer
    pair are one task. Annotated to prefer the right answer, the import scores every pair right."""
    from ilr.core.params import load_params
    from ilr.method.feedback import build_check_items
    from ilr.tasks.task import task_from_params
    from ilr.train.dpo import build_sample_pairs

    root, gold, wrong, right = round_dir
    params = load_params(root / "params.yaml")
    task = task_from_params(params.task)
    by_id = {g["id"]: g for g in gold}
    r0 = read_records(root / "data/labels/r0.jsonl")
    n = params.dpo.n_samples
    samples = [{"id": lab["id"], "prompt": lab["prompt"], "samples": [
        text for k in range(n // 2) for text in ((lab["response"], by_id[lab["id"]]["response"])
                                                 if k % 2 == 0 else (by_id[lab["id"]]["response"],
                                                                     lab["response"]))]}
               for lab in r0 if lab["id"] in wrong]  # the right sample first in odd pairs
    for kind, records, all_items in (
            ("dpo_pairs", {"samples": samples, "gold": gold},
             build_sample_pairs(samples, n_samples=n)),
            ("feedback", {"labels": r0, "gold": gold},
             build_check_items(r0, gold, task=task, n=params.feedback.n_check, seed=params.seed))):
        stage = "dpo_pairs@d1" if kind == "dpo_pairs" else "feedback"
        items = stage_items(kind, records, params=params, task=task)
        assert len(items) == len({(i["id"], i.get("pair", 0)) for i in all_items})
        tasks = label_studio_tasks(items, stage=stage, seed=0, time_limit_s=120)
        lines = judgments_from_export(annotate(tasks, gold), items=items, stage=stage,
                                      time_limit_s=120)
        judgments = {(line["id"], line["pair"]): line for line in lines}
        scores = file_scores(all_items, judgments, path="j.jsonl")
        want = [float(grade(i["proposal"], by_id[i["id"]]["response"])) for i in all_items]
        assert scores == want and 0 < sum(want) < len(want)
