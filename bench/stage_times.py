"""Stamp `dvc repro` output with elapsed seconds and print each stage's time at the end.

    dvc repro 2>&1 | python -u bench/stage_times.py

A stage runs from its "Running stage 'x':" line to the lock-file update that ends it (or to the
next stage, or the end of the output, for one that failed or was stopped).
"""
import re
import sys
import time

STARTS = re.compile(r"Running stage '(.*)':")
ENDS = re.compile(r"(Updating lock file|Generating lock file|Stage '.*' is cached)")


def main(lines=sys.stdin, out=sys.stdout, clock=time.monotonic) -> list:
    start, stages = clock(), []
    for line in lines:
        now = clock() - start
        if m := STARTS.match(line):
            stages.append([m.group(1), now, None])
        elif stages and stages[-1][2] is None and ENDS.match(line):
            stages[-1][2] = now
        out.write(f"[{now:7.1f}s] {line}")
        out.flush()
    end = clock() - start
    out.write("\nstage times (s):\n")
    for k, stage in enumerate(stages):
        stage[2] = stage[2] if stage[2] is not None else (
            stages[k + 1][1] if k + 1 < len(stages) else end)
        out.write(f"  {stage[2] - stage[1]:7.1f}  {stage[0]}\n")
    out.write(f"  {end:7.1f}  total\n")
    return [(name, t1 - t0) for name, t0, t1 in stages]


if __name__ == "__main__":
    main()
