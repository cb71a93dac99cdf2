"""PGR, the performance gap recovered (the paper's weak-to-strong measure), per seed with a paired
bootstrap interval.

    PGR = (acc(SFT r0) - acc(supervisor)) / (acc(gold) - acc(supervisor))

on the test set: 0 is the weak supervisor's accuracy, 1 the gold-trained ceiling's, below 0
the student fell below its supervisor. It is a ratio of two differences, so it is defined only
where gold is above the supervisor: a seed where it is not has no value (null, with a reason),
and a bootstrap resample where it is not is skipped and counted (``skipped``), so the interval
is conditional on a positive gap; many skipped resamples say the gap itself is unresolved.

The interval is a percentile bootstrap over the seed's test problems, the same problems drawn for
the three models (paired). A problem's three outcomes are one of 8 patterns, so a resample is
one multinomial draw of the pattern counts: the same distribution as drawing indices, faster
(as in :mod:`ilr.measure.paired_stats`). :func:`performance_gap_recovered` is pure: each seed's
test outcomes in, one record out.
"""
from __future__ import annotations

import numpy as np

from ilr.core.io import DataFileError
from ilr.measure.paired_stats import generator, mean_sd
from ilr.method.rounds import ROUND_ZERO

MODELS = (ROUND_ZERO, "supervisor", "gold")  # the student, the floor, the ceiling
NO_GAP = "gold is not above the supervisor in this seed"


def definition(level: float) -> str:
    return (f"PGR = (acc({ROUND_ZERO}) - acc(supervisor)) / (acc(gold) - acc(supervisor)) on the "
            "test set, per seed: 0 = the weak supervisor, 1 = the gold-trained ceiling. Interval: "
            f"{level:.0%} percentile bootstrap over the seed's test problems, the same problems "
            "for the three models; resamples where gold is not above the supervisor are skipped "
            "and counted (skipped); a seed where it is not has no value")


def _outcomes(seed: str, models: dict) -> np.ndarray:
    """The three models' outcomes on the seed's problems, one row per model, ids in one order."""
    ids = set(models[ROUND_ZERO]["correct"])
    for name in MODELS[1:]:
        if set(models[name]["correct"]) != ids:
            raise DataFileError(f"run {seed}: {models[ROUND_ZERO]['path']} and "
                                f"{models[name]['path']} hold different ids; PGR needs the same "
                                "problems")
    order = sorted(ids, key=str)
    return np.array([[bool(models[n]["correct"][i]) for i in order] for n in MODELS], dtype=int)


def seed_pgr(outcomes: np.ndarray, *, n_boot: int, rng: np.random.Generator,
             level: float) -> dict:
    """One seed's PGR, gap, recovered share and bootstrap interval; ``outcomes`` has rows r0,
    supervisor, gold (0/1, the same problems in the same order)."""
    n = outcomes.shape[1]
    r0, sup, gold = (int(k) for k in outcomes.sum(axis=1))  # counts right: an exact ratio
    out = {"value": None, "ci": None, "gap": (gold - sup) / n, "recovered": (r0 - sup) / n,
           "n": n, "skipped": 0, "reason": None}
    if gold - sup <= 0:
        return out | {"reason": NO_GAP}
    out["value"] = (r0 - sup) / (gold - sup)
    patterns = outcomes[0] * 4 + outcomes[1] * 2 + outcomes[2]
    counts = np.bincount(patterns, minlength=8)
    draws = rng.multinomial(n, counts / n, size=n_boot)
    bits = np.array([[(k >> shift) & 1 for shift in (2, 1, 0)] for k in range(8)])
    acc = draws @ bits / n  # each resample's accuracy of r0, supervisor, gold
    gap = acc[:, 2] - acc[:, 1]
    kept = gap > 0
    out["skipped"] = int(n_boot - kept.sum())
    if kept.any():
        ratios = (acc[kept, 0] - acc[kept, 1]) / gap[kept]
        low, high = np.quantile(ratios, [(1 - level) / 2, (1 + level) / 2])
        out["ci"] = [float(low), float(high)]
    return out


def performance_gap_recovered(tests: dict[str, dict], *, n_boot: int, seed: int,
                              level: float) -> dict:
    """PGR per seed from ``{seed name: {model: {"path", "correct": {id: bool}}}}`` (a loaded
    run's ``test``), with the mean and sd over the seeds that have a value (sd None with one).
    A seed missing any of r0, supervisor and gold, or with no test problem, has no value and
    says why."""
    per_seed = {}
    for name, models in tests.items():
        missing = [m for m in MODELS if m not in models]
        if missing:
            per_seed[name] = {"value": None, "ci": None, "gap": None, "recovered": None,
                              "reason": f"models missing in this seed: {', '.join(missing)}"}
            continue
        outcomes = _outcomes(name, models)
        if outcomes.shape[1] == 0:
            per_seed[name] = {"value": None, "ci": None, "gap": None, "recovered": None,
                              "reason": "no test problems in this seed"}
            continue
        per_seed[name] = seed_pgr(outcomes, n_boot=n_boot, level=level,
                                  rng=generator(seed, f"pgr/{name}"))
    mean, sd = mean_sd([e["value"] for e in per_seed.values()])
    return {"definition": definition(level), "per_seed": per_seed, "mean": mean, "sd": sd,
            "seeds": [s for s, e in per_seed.items() if e["value"] is not None]}
