"""`ilr compare`: the arms of several seed runs side by side, with paired tests and the paper's
claims marked reproduced, not reproduced or inconclusive.

Each run is a folder laid out as `dvc repro` leaves it (params.yaml, data/predictions,
data/labels, data/gold/train.jsonl, metrics/labels, metrics/kl). :func:`load_run` reads one
(ilr/measure/run_folders.py); :func:`compare_runs` is pure (loaded runs in, one dict out);
:func:`run_compare` reads, compares and writes metrics/compare.json.

Pairing: two arms are compared only within a seed, on that seed's problems (or labels), and
their files must hold the same ids (else a DataFileError names both files). Seeds need not share
problems (arith draws its test set from the seed): pooled results are stratified by seed.

Tests. Primary: ILR rK against DPO dK at the last round K both arms have, by the seed-
stratified exact McNemar test at ``alpha``. Secondary (one Holm family): every other pooled
test: ILR and DPO rounds against SFT r0, ILR against DPO at earlier rounds, SFT r0 against the
supervisor, each ILR or naive round's labels against r0's, each round's sign test of fixed
against broken labels and ILR against naive by Fisher's exact test (counts summed over seeds).
Per-seed p-values are descriptive and not adjusted.

Claim rule (:data:`CLAIM_RULE`): reproduced when the claim's test is significant (p < alpha;
the primary unadjusted, the others after Holm) in the paper's direction, not reproduced when
significant in the opposite direction, inconclusive otherwise. "DPO does not beat SFT" claims no
gain, which a test cannot show: it is reproduced when the upper end of the paired-bootstrap
interval of DPO - SFT accuracy is at most ``dpo_margin`` (and DPO is not significantly better),
not reproduced when DPO is significantly better, inconclusive otherwise. A claim whose models
are missing is inconclusive, with p null and a reason; every other claim's reason says what
decided it, from the pooled and per-seed differences (ilr/measure/claim_reasons.py).

PGR, the performance gap recovered by SFT r0 between the supervisor and gold, per seed with a
paired bootstrap interval over the seed's test problems (ilr/measure/pgr.py).
"""
from __future__ import annotations

import math
from pathlib import Path

import click

from ilr.core.io import DataFileError, write_json
from ilr.measure.claim_reasons import MISSING, claim_reason
from ilr.measure.paired_stats import bootstrap_ci, fisher, holm, mcnemar, mean_sd, stratified_mcnemar
from ilr.measure.pgr import performance_gap_recovered
from ilr.measure.reliability import sign_test
from ilr.measure.run_folders import load_run, parse_runs
from ilr.method.rounds import ROUND_ZERO

ARM_ORDER = ("sft", "ilr", "naive", "dpo", "reference")
CLAIM_RULE = ("reproduced: p < alpha in the paper's direction (primary ILR vs DPO unadjusted, "
              "the rest Holm-adjusted); not reproduced: p < alpha in the opposite direction; "
              "inconclusive otherwise or when models are missing. DPO-not-above-SFT: reproduced "
              "when the bootstrap CI's upper end of DPO - SFT <= dpo_margin and DPO is not "
              "significantly better; not reproduced when DPO is significantly better")


def _ci(groups, *, n_boot, seed, key, level):
    return list(bootstrap_ci(groups, n_boot=n_boot, seed=seed, key=key, level=level))


def _spread(per_seed: dict, groups: dict | None, *, key: str, opts: dict) -> dict:
    """Mean and sd over seeds, each seed's bootstrap interval and the two-level one."""
    mean, sd = mean_sd(list(per_seed.values()))
    out = {"mean": mean, "sd": sd, "per_seed": per_seed, "ci": None, "per_seed_ci": None}
    if groups and len(groups) == len(per_seed):
        out["per_seed_ci"] = {s: _ci([g], key=f"{key}/{s}", **opts) for s, g in groups.items()}
        out["ci"] = _ci(list(groups.values()), key=key, **opts)
    return out


def _version_summary(name: str, info: dict, runs: dict, opts: dict) -> dict:
    out = {**info, "seeds": [], "test_accuracy": None, "label_accuracy": None, "kl": None}
    tests = {s: list(r["test"][name]["correct"].values())
             for s, r in runs.items() if name in r["test"]}
    out["seeds"] = [s for s, r in runs.items() if name in r["versions"]]
    if tests:
        out["test_accuracy"] = _spread({s: sum(v) / len(v) for s, v in tests.items() if v},
                                       {s: v for s, v in tests.items() if v},
                                       key=f"test/{name}", opts=opts)
    graded = {s: list(r["labels"][name]["correct"].values()) for s, r in runs.items()
              if name in r["labels"] and r["labels"][name]["correct"]}
    label_acc = {s: sum(v) / len(v) for s, v in graded.items()}
    label_acc.update({s: r["label_metrics"][name].get("label_accuracy") for s, r in runs.items()
                      if s not in label_acc and name in r["label_metrics"]})
    label_acc = {s: v for s, v in label_acc.items() if v is not None}
    if label_acc:
        out["label_accuracy"] = _spread(label_acc, graded, key=f"labels/{name}", opts=opts)
    kl = {s: r["kl"][name]["kl"] for s, r in runs.items()
          if r["kl"].get(name, {}).get("kl") is not None}
    if kl:
        out["kl"] = dict(zip(("mean", "sd"), mean_sd(list(kl.values())))) | {"per_seed": kl}
    return out


def _paired(runs: dict, kind: str, a: str, b: str, opts: dict) -> dict | None:
    """Arms ``a`` and ``b`` paired on each seed's ids: per-seed McNemar, the stratified test and
    the two-level paired bootstrap of the accuracy difference a - b."""
    per_seed, diffs = {}, {}
    for seed, run in runs.items():
        if a not in run[kind] or b not in run[kind]:
            continue
        x, y = run[kind][a], run[kind][b]
        if set(x["correct"]) != set(y["correct"]):
            only_x = sorted(set(x["correct"]) - set(y["correct"]), key=str)[:3]
            only_y = sorted(set(y["correct"]) - set(x["correct"]), key=str)[:3]
            raise DataFileError(f"run {seed}: {x['path']} and {y['path']} hold different ids "
                                f"(only in the first: {only_x}, only in the second: {only_y}); "
                                "a paired test needs the same problems")
        if not x["correct"]:
            continue
        ids = sorted(x["correct"], key=str)
        xa, yb = [x["correct"][i] for i in ids], [y["correct"][i] for i in ids]
        diffs[seed] = [int(p) - int(q) for p, q in zip(xa, yb)]
        per_seed[seed] = {**mcnemar(xa, yb), "diff": sum(diffs[seed]) / len(ids)}
    if not per_seed:
        return None
    pooled = stratified_mcnemar(list(per_seed.values()))
    return {"a": a, "b": b, "kind": kind, "role": "secondary", **pooled, "p_adjusted": None,
            "diff": mean_sd([t["diff"] for t in per_seed.values()])[0],
            "diff_ci": _ci(list(diffs.values()), key=f"{kind}/{a}-{b}", **opts),
            "seeds": list(per_seed), "missing_seeds": [s for s in runs if s not in per_seed],
            "per_seed": per_seed}


def _rounds(runs: dict, order: dict) -> dict:
    """Each round's sign test of fixed against broken labels (pooled: counts summed over seeds,
    the conditional test as in :func:`stratified_mcnemar`), and ILR against naive (Fisher)."""
    signs, fishers = {}, {}
    for name, info in order.items():
        counts = {s: (int(r["label_metrics"][name].get("n_fixed") or 0),
                      int(r["label_metrics"][name].get("n_broken") or 0))
                  for s, r in runs.items() if name in r["label_metrics"]}
        if counts and info["arm"] in ("ilr", "naive"):
            fixed, broken = (sum(c[i] for c in counts.values()) for i in (0, 1))
            signs[name] = {"arm": info["arm"], "round": info["round"], "n_fixed": fixed,
                           "n_broken": broken, "p": sign_test(fixed, broken), "p_adjusted": None,
                           "per_seed": {s: {"n_fixed": f, "n_broken": b, "p": sign_test(f, b)}
                                        for s, (f, b) in counts.items()}}
    for ilr, naive in _matched(order, "ilr", "naive"):
        if ilr in signs and naive in signs:
            i, n = signs[ilr], signs[naive]
            fishers[f"{ilr}_vs_{naive}"] = {
                "ilr": ilr, "naive": naive, "round": i["round"], "p_adjusted": None,
                **fisher(i["n_fixed"], i["n_broken"], n["n_fixed"], n["n_broken"])}
    return {"sign_test": signs, "fisher": fishers}


def _matched(order: dict, arm_a: str, arm_b: str) -> list[tuple[str, str]]:
    """(a, b) for each round depth both arms have (the first round of each at that depth)."""
    def first(arm):
        found = {}
        for name, info in order.items():
            if info["arm"] == arm:
                found.setdefault(info["round"], name)
        return found
    a, b = first(arm_a), first(arm_b)
    return [(a[k], b[k]) for k in sorted(set(a) & set(b))]


def _judge(entry: dict | None, direction: int, alpha: float, *,
           margin: float | None = None) -> dict:
    if entry is None:
        return {"status": "inconclusive", "p": None, "p_raw": None, "diff": None,
                "diff_ci": None, "comparison": None, "reason": MISSING}
    p = entry["p_adjusted"] if entry["role"] == "secondary" else entry["p"]
    sign = (entry["a_only"] > entry["b_only"]) - (entry["a_only"] < entry["b_only"])
    significant = p is not None and p < alpha
    if margin is not None:  # a claim of no gain for a over b
        status = ("not reproduced" if significant and sign > 0 else "reproduced"
                  if entry["diff_ci"][1] <= margin else "inconclusive")
    else:
        status = ("reproduced" if significant and sign == direction else "not reproduced"
                  if significant and sign == -direction else "inconclusive")
    return {"status": status, "p": p, "p_raw": entry["p"], "diff": entry["diff"],
            "diff_ci": entry["diff_ci"],
            "reason": claim_reason(entry, status=status, p=p, direction=direction, alpha=alpha,
                                   margin=margin),
            "comparison": f"{entry['kind']}/{entry['a']}_vs_{entry['b']}"}


def compare_runs(runs: dict[str, dict], *, n_boot: int = 10_000, seed: int = 0,
                 alpha: float = 0.05, dpo_margin: float = 0.02) -> dict:
    """Compare loaded runs (``{seed name: load_run(...)}``); see the module docstring."""
    if not runs:
        raise ValueError("compare_runs: no runs")
    if n_boot < 1 or not 0 < alpha < 1:
        raise ValueError(f"n_boot must be >= 1 and 0 < alpha < 1, got {n_boot} and {alpha}")
    order: dict[str, dict] = {}
    for seed_name, run in runs.items():
        for name, info in run["versions"].items():
            if order.setdefault(name, info) != info:
                raise ValueError(f"run {seed_name}: {name} is {info} but {order[name]} in another "
                                 "run; the runs must declare the same rounds")
    order = dict(sorted(order.items(), key=lambda kv: (ARM_ORDER.index(kv[1]["arm"]),
                                                       kv[1]["round"] or 0, kv[0])))
    opts = {"n_boot": n_boot, "seed": seed, "level": 1 - alpha}
    names = {arm: [n for n, i in order.items() if i["arm"] == arm] for arm in ARM_ORDER}
    test_pairs = [*_matched(order, "ilr", "dpo"), *((n, ROUND_ZERO) for n in names["ilr"]),
                  *((n, ROUND_ZERO) for n in names["dpo"]), (ROUND_ZERO, "supervisor")]
    comparisons = {"test": {}, "labels": {}}
    for kind, pairs in (("test", test_pairs),
                        ("labels", [(n, ROUND_ZERO) for n in names["ilr"] + names["naive"]])):
        for a, b in pairs:
            if (entry := _paired(runs, kind, a, b, opts)) is not None:
                comparisons[kind][f"{a}_vs_{b}"] = entry
    matched = [k for k in (f"{a}_vs_{b}" for a, b in _matched(order, "ilr", "dpo"))
               if k in comparisons["test"]]
    primary = comparisons["test"][matched[-1]] if matched else None
    if primary:
        primary["role"], primary["p_adjusted"] = "primary", primary["p"]
    rounds = _rounds(runs, order)
    family = [e for group in (comparisons["test"], comparisons["labels"], rounds["sign_test"],
                              rounds["fisher"]) for e in group.values() if e is not primary]
    for entry, p in zip(family, holm(dict(enumerate(e["p"] for e in family))).values()):
        entry["p_adjusted"] = p

    def last(arm, kind="test"):
        return comparisons[kind].get(f"{names[arm][-1]}_vs_{ROUND_ZERO}") if names[arm] else None

    claims = {
        "sft_beats_supervisor": ("SFT r0 beats the weak supervisor on the test set",
                                 _judge(comparisons["test"].get("r0_vs_supervisor"), 1, alpha)),
        "dpo_not_above_sft": ("SFT+DPO does not beat SFT r0 under unreliable feedback",
                              _judge(last("dpo"), 1, alpha, margin=dpo_margin)),
        "ilr_beats_dpo": ("SFT+ILR beats SFT+DPO at the last common round (primary)",
                          _judge(primary, 1, alpha)),
        "ilr_raises_label_accuracy": ("ILR raises label accuracy above r0's",
                                      _judge(last("ilr", "labels"), 1, alpha)),
        "naive_degrades_labels": ("Naive replacement lowers label accuracy below r0's",
                                  _judge(last("naive", "labels"), -1, alpha)),
    }
    return {"seeds": list(runs), "runs": {s: r["folder"] for s, r in runs.items()},
            "settings": {"n_boot": n_boot, "seed": seed, "alpha": alpha, "dpo_margin": dpo_margin,
                         "ci": f"{1 - alpha:.0%} percentile bootstrap", "claim_rule": CLAIM_RULE,
                         "primary": f"test/{primary['a']}_vs_{primary['b']}" if primary else None},
            "versions": {n: _version_summary(n, i, runs, opts) for n, i in order.items()},
            "comparisons": comparisons, "rounds": rounds,
            "pgr": performance_gap_recovered({s: r["test"] for s, r in runs.items()}, **opts),
            "claims": {k: {"statement": text, **verdict} for k, (text, verdict) in claims.items()}}


def finite(data):
    """``data`` with NaN and infinities as None (JSON has neither), numpy numbers as Python's."""
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    if hasattr(data, "item") and not isinstance(data, (str, bytes)):
        data = data.item()
    return None if isinstance(data, float) and not math.isfinite(data) else data


def run_compare(runs: dict[str, Path], *, out: str | Path, **options) -> dict:
    """Load each run, compare them (``options`` as :func:`compare_runs`), write ``out``."""
    result = finite(compare_runs({s: load_run(p) for s, p in runs.items()}, **options))
    write_json(out, result)
    return result


def claim_rows(result: dict) -> list[dict]:
    """One row per claim, for the command line."""
    return [{"claim": k, "status": c["status"], "p": c["p"], "diff": c["diff"],
             "comparison": c["comparison"]} for k, c in result["claims"].items()]


# `ilr compare`: the compare stage by hand, on any run folders (ilr/cli.py registers it)
@click.command(help="Seed runs side by side (each a folder laid out as `dvc repro` leaves it): "
                    "accuracy by arm and round over seeds with bootstrap intervals, paired exact "
                    "McNemar tests (stratified by seed), Holm-adjusted secondary tests and the "
                    "paper's claims marked reproduced / not reproduced / inconclusive. Reads "
                    "files only: no compute. See ilr/measure/compare.py for the tests and the claim rule.")
@click.option("--run", "runs", multiple=True, required=True, metavar="NAME=PATH",
              help="a seed run's folder, named; repeat for each seed")
@click.option("--out", default="metrics/compare.json", show_default=True)
@click.option("--n-boot", default=10_000, show_default=True, help="bootstrap resamples")
@click.option("--seed", default=0, show_default=True, help="seed of the bootstrap")
@click.option("--alpha", default=0.05, show_default=True, help="significance level")
def compare(runs, out, n_boot, seed, alpha):
    from tabulate import tabulate

    try:
        result = run_compare(parse_runs(runs), out=out, n_boot=n_boot, seed=seed, alpha=alpha)
    except ValueError as e:  # DataFileError and ParamsError are ValueErrors
        raise click.ClickException(str(e)) from None
    click.echo(tabulate(claim_rows(result), headers="keys", floatfmt=".4f"))
    click.echo(f"wrote {out}")
