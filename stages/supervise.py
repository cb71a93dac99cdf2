"""DVC stage `supervise`: round-0 labels for the student's prompts from the configured supervisor.

    python -m stages.supervise --params params.yaml --gold data/gold/train.jsonl --supervisor models/supervisor --label-file inputs/labels.jsonl --out data/labels/r0.jsonl --metrics metrics/labels/r0.json --quality metrics/quality/r0.json
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import commit_outputs, read_records
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.measure.quality import check_label_version
from ilr.method.supervise import measure_labels, supervise_labels
from ilr.tasks.task import task_from_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--gold", required=True, help="JSONL of the student's gold records")
    parser.add_argument("--supervisor", help="supervisor model folder (supervise.kind: model)")
    parser.add_argument("--label-file", help="JSONL of the user's {id, response} demonstrations "
                                             "(supervise.kind: file)")
    parser.add_argument("--out", required=True, help="output JSONL of labels")
    parser.add_argument("--metrics", required=True, help="output JSON label metrics")
    parser.add_argument("--quality", required=True, help="output JSON of the labels' gate")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    gold = read_records(args.gold, required=("id", "prompt", "response"))
    with phase("compute"):
        labels, report = supervise_labels(gold, task=task, params=params,
                                          supervisor=args.supervisor, label_file=args.label_file)
    quality = check_label_version(labels, gold, version="r0", task=task, quality=params.quality,
                                  path=(args.label_file if params.supervise.kind == "file" else args.out))
    metrics = {**measure_labels(labels, gold, task=task), "supervise": report}
    # labels and metrics replace the previous set together
    with phase("save"), commit_outputs() as out:
        out.jsonl(args.out, labels)
        out.json(args.metrics, metrics)
        out.json(args.quality, quality)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main)
