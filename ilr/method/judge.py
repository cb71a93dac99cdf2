"""Human comparison feedback through Label Studio: a stage's compared items out as tasks, the
annotations back as the judgments file that ``feedback.kind: file`` reads.

A stage that asks for feedback (``refine@<round>``, ``dpo_pairs@<round>``, ``feedback``) sends
it items ``{id, prompt, label, proposal}``; :func:`stage_items` computes them from the files on
disk with the stage's own functions, so a judgment answers exactly what the stage will ask.
Each item becomes one task: the question and the two answers, shown as (A) and (B) in a seeded
random order that the task's data keeps (``second``: which answer was shown second), so the
position bias of the annotators can be measured. Their choice of A or B comes back as
``proposal`` or ``label``; ``seconds`` is the annotation's ``lead_time``; a judgment over
``feedback.human.time_limit_s`` is handled by ``feedback.human.over_limit``.

Everything here is pure (records in, records out) but :func:`stage_inputs`, which only names
the files; ``ilr judge`` reads and writes them.
"""
from __future__ import annotations

import random
from xml.sax.saxutils import quoteattr

from ilr.method.feedback import CHOICES, build_check_items, item_key
from ilr.method.refine import round_compared

CHOICE_NAME = "choice"  # the <Choices> of the labeling config
QUESTION = ("Which answer to the question is correct? If both or neither are, choose the "
            "better one.")
GOLD = "data/gold/train.jsonl"


class ExportError(ValueError):
    """A Label Studio export that cannot become a judgments file; the message is one line."""


def parse_stage(stage: str, params) -> tuple[str, str]:
    """``(kind, name)`` of a stage that asks for feedback; ``name`` names its judgments file
    (``inputs/judgments/<name>.jsonl``)."""
    if stage == "feedback":
        return "feedback", "feedback"
    kind, _, name = stage.partition("@")
    if kind == "refine":
        if name not in params.rounds:
            raise ValueError(f"{stage}: {name!r} is not a round of params `rounds`; choose one "
                             f"of {[f'refine@{r}' for r in params.rounds]}")
        if params.rounds[name].mode != "feedback":
            raise ValueError(f"{stage}: a {params.rounds[name].mode} round asks for no feedback; "
                             "judge a round with mode feedback")
        return kind, name
    if kind == "dpo_pairs":
        if name not in params.dpo_rounds:
            raise ValueError(f"{stage}: {name!r} is not a round of params `dpo_rounds`; choose "
                             f"one of {[f'dpo_pairs@{d}' for d in params.dpo_rounds]}")
        return kind, name
    raise ValueError(f"{stage}: not a stage that asks for feedback; choose refine@<round>, "
                     "dpo_pairs@<round> or feedback")


def stage_inputs(kind: str, name: str, params) -> dict[str, tuple[str, str]]:
    """The files a stage builds its items from (as dvc.yaml passes them), each with the stage
    that writes it: ``{role: (path, dvc target)}``."""
    if kind == "refine":
        prev = params.rounds[name].prev
        labels = "supervise" if prev == "r0" else f"refine@{prev}"
        return {"labels": (f"data/labels/{prev}.jsonl", labels),
                "proposals": (f"data/proposals/{prev}.jsonl", f"propose@{prev}"),
                "gold": (GOLD, "prepare")}
    if kind == "dpo_pairs":
        return {"samples": (f"data/dpo/samples/{name}.jsonl", f"dpo_samples@{name}"),
                "gold": (GOLD, "prepare")}
    return {"labels": ("data/labels/r0.jsonl", "supervise"), "gold": (GOLD, "prepare")}


def stage_items(kind: str, records: dict[str, list[dict]], *, params, task) -> list[dict]:
    """The items the stage sends to the feedback, one per judgment key: the feedback stage
    asks each answer pair in both roles, and a judgment answers the first (the second role
    gets its complement, :func:`ilr.method.feedback.file_scores`)."""
    if kind == "refine":
        items = round_compared(records["labels"], records["proposals"],
                               same_answer=task.same_answer, gold=records["gold"])
    elif kind == "dpo_pairs":
        from ilr.train.dpo import build_sample_pairs  # here: the module brings torch

        items = build_sample_pairs(records["samples"], n_samples=params.dpo.n_samples)
    else:
        items = build_check_items(records["labels"], records["gold"], task=task,
                                  n=params.feedback.n_check, seed=params.seed)
    first = {}
    for item in items:
        first.setdefault(item_key(item), item)
    return list(first.values())


def label_studio_tasks(items: list[dict], *, stage: str, seed: int,
                       time_limit_s: float) -> list[dict]:
    """Label Studio tasks (``[{"data": ...}]``, its JSON import): the question and both answers
    in a per-item seeded random order; ``second`` records which answer is shown as (B)."""
    tasks = []
    for item in items:
        ident, pair = item_key(item)
        second = "proposal" if random.Random(f"judge/{seed}/{stage}/{ident}/{pair}").random() \
            < 0.5 else "label"
        first = "label" if second == "proposal" else "proposal"
        tasks.append({"data": {"stage": stage, "id": ident, "pair": pair,
                               "question": item["prompt"], "answer_a": item[first],
                               "answer_b": item[second], "second": second,
                               "time_limit_s": time_limit_s}})
    return tasks


def labeling_config(time_limit_s: float) -> str:
    """The labeling config (XML): the question, answers (A) and (B), the comparison question
    with the time budget, and one required choice, A or B."""
    budget = f"Time budget: {time_limit_s:g} seconds for this comparison."
    return f"""<View>
  <Header value="Question"/>
  <Text name="question" value="$question"/>
  <Header value="Answer (A)"/>
  <Text name="answer_a" value="$answer_a"/>
  <Header value="Answer (B)"/>
  <Text name="answer_b" value="$answer_b"/>
  <Header value={quoteattr(QUESTION)}/>
  <Header value={quoteattr(budget)} size="6"/>
  <Choices name="{CHOICE_NAME}" toName="question" choice="single-radio" required="true" showInline="true">
    <Choice value="A"/>
    <Choice value="B"/>
  </Choices>
</View>
"""


def _task_name(task: dict) -> str:
    data = task.get("data") or {}
    item = data.get("id")
    return f"task {task.get('id')} (item {item!r}" + (
        f", pair {data['pair']})" if data.get("pair") else ")")


def _one_annotation(task: dict) -> dict:
    annotations = task.get("annotations") or []
    cancelled = [a for a in annotations if a.get("was_cancelled")]
    if cancelled:
        raise ExportError(f"{_task_name(task)}: skipped in Label Studio (was_cancelled); "
                          "annotate it, or delete the skip, and export again")
    if not annotations:
        raise ExportError(f"{_task_name(task)}: not annotated; every exported task needs one "
                          "annotation before the import")
    if len(annotations) > 1:
        raise ExportError(f"{_task_name(task)}: {len(annotations)} annotations; keep one per "
                          "task (delete the others in Label Studio) and export again")
    return annotations[0]


def _chosen(task: dict, annotation: dict) -> str:
    choices = [r.get("value", {}).get("choices") for r in annotation.get("result") or []
               if r.get("from_name") == CHOICE_NAME]
    if len(choices) != 1 or choices[0] not in (["A"], ["B"]):
        raise ExportError(f"{_task_name(task)}: unknown choice {choices!r}; the labeling "
                          f"config's `{CHOICE_NAME}` takes A or B (ilr judge export writes it)")
    return choices[0][0]


def judgments_from_export(export, *, items: list[dict], stage: str, time_limit_s: float,
                          over_limit: str = "keep_label") -> list[dict]:
    """Judgment lines ``{id, pair, choice, seconds, shown_second[, over_limit, chosen]}`` from
    a Label Studio JSON export of ``stage``'s tasks, in the order of ``items``. Raises
    :class:`ExportError` (one line) for tasks from another stage, missing or extra tasks, a
    skipped task, several annotations of one task, an unknown choice, answers that are no
    longer the stage's, a missing ``lead_time``, and (``over_limit: refuse``) a slow one."""
    if not isinstance(export, list) or not all(isinstance(t, dict) and isinstance(
            t.get("data"), dict) for t in export):
        raise ExportError("not a Label Studio JSON export (a list of tasks with `data` and "
                          "`annotations`); export the project as JSON")
    wanted = {item_key(i): i for i in items}
    seen: dict = {}
    for task in export:
        data = task["data"]
        if data.get("stage") != stage:
            raise ExportError(f"{_task_name(task)}: from {data.get('stage')!r}, not {stage!r}; "
                              "import the export of this stage's project")
        key = (data.get("id"), data.get("pair", 0))
        if key in seen:
            raise ExportError(f"{_task_name(task)}: the item is a task twice (also task "
                              f"{seen[key].get('id')}); import the exported tasks once")
        seen[key] = task
    extra = [k for k in seen if k not in wanted]
    missing = [k for k in wanted if k not in seen]
    if extra or missing:
        raise ExportError("; ".join(
            ([f"{len(missing)} compared item(s) of {stage} have no task, e.g. "
              f"{[k[0] for k in missing[:5]]}"] if missing else [])
            + ([f"{len(extra)} task(s) are not among {stage}'s compared items, e.g. "
                f"{[k[0] for k in extra[:5]]}"] if extra else []))
            + "; the items change with the labels and proposals: export again and annotate "
              "the new tasks")
    lines, slow = [], []
    for key, item in wanted.items():
        task = seen[key]
        data = task["data"]
        second = data.get("second")
        if second not in CHOICES or (data.get("answer_a"), data.get("answer_b")) != (
                item["label" if second == "proposal" else "proposal"], item[second]):
            raise ExportError(f"{_task_name(task)}: its answers are no longer the stage's "
                              "(the labels or proposals changed since the export); export again")
        annotation = _one_annotation(task)
        letter = _chosen(task, annotation)
        seconds = annotation.get("lead_time")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ExportError(f"{_task_name(task)}: lead_time {seconds!r} is not a number of "
                              "seconds >= 0; export from Label Studio's own annotation page")
        choice = second if letter == "B" else ("label" if second == "proposal" else "proposal")
        line = {"id": key[0], "pair": key[1], "choice": choice, "seconds": round(seconds, 3),
                "shown_second": second}
        if seconds > time_limit_s:
            slow.append(key[0])
            line["over_limit"] = True
            if over_limit == "keep_label":
                line.update(choice="label", chosen=choice)
        lines.append(line)
    if slow and over_limit == "refuse":
        raise ExportError(f"{len(slow)} judgment(s) took longer than feedback.human.time_limit_s "
                          f"({time_limit_s:g} s), e.g. {slow[:5]}; judge them again within the "
                          "limit, or set feedback.human.over_limit to keep_label or use")
    return lines
