"""DVC stage `refine@<round>`: the difference filter, comparison feedback and the capped
decision rule; writes the next label version, its audit log and its label metrics.

    python -m stages.refine --params params.yaml --round r1 --labels data/labels/r0.jsonl --proposals data/proposals/r0.jsonl --gold data/gold/train.jsonl --classifier models/feedback --judgments inputs/judgments/r1.jsonl --out data/labels/r1.jsonl --audit data/audit/r1.jsonl --metrics metrics/labels/r1.json --quality metrics/quality/r1.json
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import commit_outputs, read_records
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.measure.quality import check_label_version
from ilr.measure.reliability import measure_round_feedback
from ilr.method.feedback import file_judgment_metrics, score_items
from ilr.method.refine import refine_round
from ilr.method.supervise import measure_labels
from ilr.tasks.task import task_from_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--round", required=True, help="the round's name in params `rounds`")
    parser.add_argument("--labels", required=True, help="JSONL of the labels this round refines")
    parser.add_argument("--proposals", required=True, help="JSONL of {id, proposal}")
    parser.add_argument("--gold", required=True, help="JSONL of the student's gold records")
    parser.add_argument("--classifier", help="classifier folder (feedback.kind: classifier)")
    parser.add_argument("--judgments", help="JSONL of human {id, choice, seconds} judgments "
                                            "(feedback.kind: file)")
    parser.add_argument("--out", required=True, help="output JSONL of the refined labels")
    parser.add_argument("--audit", required=True, help="output JSONL, one line per compared item")
    parser.add_argument("--metrics", required=True, help="output JSON label metrics")
    parser.add_argument("--quality", required=True, help="output JSON of the new labels' gate")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    if args.round not in params.rounds:
        parser.error(f"--round {args.round}: not in {args.params} rounds {list(params.rounds)}")
    task = task_from_params(params.task)
    gold = read_records(args.gold, required=("id", "prompt", "response"))
    labels = read_records(args.labels, required=("id", "prompt", "response"))
    proposals = read_records(args.proposals, required=("id", "proposal"))
    with phase("compute"):
        new, audit, counts = refine_round(
            labels, proposals, same_answer=task.same_answer, grade=task.grade, gold=gold,
            score=lambda items: score_items(items, params=params.feedback, task=task, gold=gold,
                                            seed=params.seed, classifier=args.classifier,
                                            judgments=args.judgments, dtype=params.model.dtype),
            alpha=params.refine.alpha, alpha_scope=params.refine.alpha_scope,
            mode=params.rounds[args.round].mode, seed=params.seed, round_name=args.round)
        quality = check_label_version(new, gold, version=args.round, task=task,
                                      quality=params.quality, previous=labels,
                                      alpha=params.refine.alpha, path=args.out)
        metrics = {**measure_labels(new, gold, task=task), "round": args.round, **counts,
                   **measure_round_feedback(audit),
                   **file_judgment_metrics(params.feedback, args.judgments, gold)}
    if params.feedback.kind == "file" and not audit:  # the judgments are checked all the same
        score_items([], params=params.feedback, task=task, gold=gold, seed=params.seed,
                    judgments=args.judgments)
    # labels, audit and metrics replace the previous set together
    with phase("save"), commit_outputs() as out:
        out.jsonl(args.out, new)
        out.jsonl(args.audit, audit)
        out.json(args.metrics, metrics)
        out.json(args.quality, quality)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main)
