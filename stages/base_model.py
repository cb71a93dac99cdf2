"""DVC stage `base_model`: save the configured base model as a normal safetensors folder.

    python -m stages.base_model --params params.yaml --out models/base
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.params import load_params
from ilr.train.base_model import convert_base_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", required=True, help="output model folder")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    print(json.dumps(convert_base_model(params.model, out=args.out)))


if __name__ == "__main__":
    run_stage(main)
