"""Paired tests and bootstrap intervals for comparing arms on the same problems, over seeds.

Pure functions over 0/1 outcomes (one per problem, the same problems in the same order for the
two arms of a seed). The exact McNemar test is the sign test of the discordant pairs
(:func:`ilr.measure.reliability.sign_test`, a two-sided binomial test); its seed-stratified form pools
the discordant counts; Holm's step-down correction is written out (statsmodels' multipletests
has it, but statsmodels is not a dependency of this project and scipy has no Holm). Bootstrap
intervals are percentile intervals from a generator seeded by a seed and a key, so each
quantity's interval is the same whatever else is computed and in which order.
"""
from __future__ import annotations

import math
import zlib
from typing import Sequence

import numpy as np

from ilr.measure.reliability import sign_test


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict:
    """The exact McNemar test of two arms on the same problems: ``a_only`` (a right, b wrong)
    against ``b_only`` by a two-sided binomial test at 1/2; p is 1 with no discordant pair."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes differ in length: {len(a)} and {len(b)}")
    a_only = sum(bool(x) and not bool(y) for x, y in zip(a, b))
    b_only = sum(bool(y) and not bool(x) for x, y in zip(a, b))
    return {"n": len(a), "a_only": a_only, "b_only": b_only, "p": discordant_p(a_only, b_only)}


def discordant_p(a_only: int, b_only: int) -> float:
    """Two-sided exact p of ``a_only`` successes in ``a_only + b_only`` trials at 1/2 (1.0
    with no trial: no evidence of a difference)."""
    p = sign_test(a_only, b_only)
    return 1.0 if p is None else p


def stratified_mcnemar(tables: Sequence[dict]) -> dict:
    """McNemar stratified by seed: the discordant counts of every seed's table pooled.

    This is the conditional test. Under the null hypothesis (within each seed the two arms are
    exchangeable on every problem), a discordant pair is a's with probability 1/2 whatever the
    seed's or the problem's difficulty; conditioning on each seed's number of discordant pairs
    removes those nuisance parameters, so the pooled ``a_only`` is Binomial(total discordant,
    1/2) exactly: the exact form of the Mantel-Haenszel test for matched pairs (Cochran's
    conditional test). Concordant pairs, and so the seeds' accuracy levels, carry no
    information about the difference and do not enter."""
    a_only = sum(t["a_only"] for t in tables)
    b_only = sum(t["b_only"] for t in tables)
    return {"n": sum(t["n"] for t in tables), "a_only": a_only, "b_only": b_only,
            "p": discordant_p(a_only, b_only)}


def holm(pvalues: dict) -> dict:
    """Holm's step-down adjustment of a family of p-values (None entries stay None and do not
    count in the family): the i-th smallest of m is multiplied by m - i + 1, kept monotone
    and capped at 1."""
    defined = sorted(((p, key) for key, p in pvalues.items() if p is not None),
                     key=lambda item: item[0])
    adjusted, running = {key: None for key in pvalues}, 0.0
    for i, (p, key) in enumerate(defined):
        running = max(running, min(1.0, (len(defined) - i) * p))
        adjusted[key] = running
    return adjusted


def fisher(fixed_a: int, broken_a: int, fixed_b: int, broken_b: int) -> dict:
    """Fisher's exact test (two-sided) that fixes are as likely among a's changed labels as
    among b's; the odds ratio is None where it is 0/0 or infinite."""
    from scipy.stats import fisher_exact

    if fixed_a + broken_a == 0 or fixed_b + broken_b == 0:
        return {"odds_ratio": None, "p": None}
    ratio, p = fisher_exact([[fixed_a, broken_a], [fixed_b, broken_b]])
    ratio = float(ratio)
    return {"odds_ratio": ratio if math.isfinite(ratio) else None, "p": float(p)}


def mean_sd(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof 1); None where undefined (sd of one value)."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def generator(seed: int, key: str) -> np.random.Generator:
    """A generator for one quantity: the same (seed, key) always draws the same numbers."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def _resampled_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples with replacement of ``values``. Outcomes take few values
    (0/1, or -1/0/1 for a paired difference), so a resample's counts of each value are one
    multinomial draw: exactly the same distribution as drawing n indices, far faster."""
    kinds, counts = np.unique(values, return_counts=True)
    draws = rng.multinomial(len(values), counts / len(values), size=n_boot)
    return draws @ kinds / len(values)


def bootstrap_means(groups: Sequence[Sequence[float]], *, n_boot: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the mean over groups (seeds) of each group's mean. One group:
    its problems are resampled. Several: the seeds are resampled, then the problems within each
    drawn seed (a two-level bootstrap; a seed drawn twice gets two independent resamples)."""
    arrays = [np.asarray(g, dtype=float) for g in groups]
    if not arrays or any(len(a) == 0 for a in arrays):
        raise ValueError("bootstrap: every group needs at least one value")
    if len(arrays) == 1:
        return _resampled_means(arrays[0], n_boot, rng)
    total = np.zeros(n_boot)
    for _ in arrays:
        pick = rng.integers(0, len(arrays), n_boot)
        draws = np.stack([_resampled_means(a, n_boot, rng) for a in arrays])
        total += draws[pick, np.arange(n_boot)]
    return total / len(arrays)


def bootstrap_ci(groups: Sequence[Sequence[float]], *, n_boot: int, seed: int, key: str,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean over groups (see :func:`bootstrap_means`)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    means = bootstrap_means(groups, n_boot=n_boot, rng=generator(seed, key))
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
