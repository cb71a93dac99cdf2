#!/usr/bin/env bash
# The steps of the workflow's gpu-repro job (.github/workflows/ci.yml), after the checkout and
# the install: restore the pipeline from the DVC remote, rerun what changed, push the results
# and the run cache, and comment the changes on the pull request. tests/test_remote.py runs it
# on CPU against a local S3 server (moto).
#
#   .ci/gpu-repro.sh
#
# Environment (all optional):
#   ILR_REMOTE_URL    a DVC remote URL (s3://bucket/path, a folder, ...), set as this clone's
#                     default remote (.dvc/config.local); else the repo's default remote
#   ILR_BASE_REF      the git revision the metrics and params are compared with (default main)
#   ILR_COMMENT_FILE  where the comment's Markdown is written (default dvc-repro-comment.md)
#   PR_NUMBER, GH_TOKEN  on a pull request: post the comment with `gh pr comment`
#   GITHUB_STEP_SUMMARY  on GitHub Actions: the comment is also the job's summary
set -euo pipefail
cd "$(dirname "$0")/.."

base="${ILR_BASE_REF:-main}"
comment_file="${ILR_COMMENT_FILE:-dvc-repro-comment.md}"

if [ -n "${ILR_REMOTE_URL:-}" ]; then
  dvc remote add --local --force --default ci "$ILR_REMOTE_URL"
fi

# every output the remote has; the outputs of stages this change reruns may be missing there
dvc pull --allow-missing
# reruns only what changed; a stage that ran before with the same deps and params (on any
# machine that pushed its run cache) is restored from the run cache instead of rerun
dvc repro --pull --allow-missing
dvc push --run-cache

ilr comment --base "$base" --out "$comment_file"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$comment_file" >> "$GITHUB_STEP_SUMMARY"
fi
if [ -n "${PR_NUMBER:-}" ] && [ -n "${GH_TOKEN:-}" ]; then
  gh pr comment "$PR_NUMBER" --body-file "$comment_file"
else
  echo "not a pull request (PR_NUMBER and GH_TOKEN unset): comment not posted, see $comment_file"
fi
