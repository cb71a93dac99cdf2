"""`ilr compare` on synthetic seed runs with planted effects, written to tmp_path."""
import json
import random

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest, fisher_exact

from ilr.cli import main as cli
from ilr.core.io import DataFileError, write_json, write_jsonl
from ilr.measure.compare import compare_runs, run_compare
from ilr.measure.paired_stats import bootstrap_ci, holm, stratified_mcnemar
from ilr.measure.pgr import NO_GAP, seed_pgr
from ilr.measure.run_folders import load_run, parse_runs

PARAMS = """rounds:
  r1: {prev: r0, mode: feedback}
  n1: {prev: r0, mode: naive}
dpo_rounds:
  d1: {policy: models/sft/r0}
"""
N_TEST, N_TRAIN = 500, 200
# share of test problems right, per model; labels: r0 wrong on 80 of 200, r1 fixes 20 of those,
# n1 fixes 5 and breaks 20
TEST = {"r0": 0.55, "r1": 0.60, "n1": 0.50, "d1": 0.50, "supervisor": 0.40, "base": 0.1,
        "gold": 0.7}
FIXED = {"r1": (20, 0), "n1": (5, 20)}


def planted(share: float, n: int, rng: random.Random) -> list[bool]:
    """Exactly ``share`` of ``n`` outcomes right, in a random order."""
    right = round(share * n)
    out = [True] * right + [False] * (n - right)
    rng.shuffle(out)
    return out


def write_run(root, seed: int, *, test=None, fixed=None, same_as: dict | None = None):
    """A run folder as `dvc repro` leaves it; ``same_as`` {a: b} gives model a b's outcomes."""
    test, fixed, rng = {**TEST, **(test or {})}, {**FIXED, **(fixed or {})}, random.Random(seed)
    root.mkdir(parents=True)
    (root / "params.yaml").write_text(PARAMS)
    outcomes = {name: planted(share, N_TEST, rng) for name, share in test.items()}
    for a, b in (same_as or {}).items():
        outcomes[a] = outcomes[b]
    for name, correct in outcomes.items():
        write_jsonl(root / f"data/predictions/{name}.jsonl", [
            {"id": f"t{i:04d}", "correct": c, "answer": "1", "gold_answer": "1"}
            for i, c in enumerate(correct)])
    gold = [{"id": f"g{i:04d}", "prompt": "q", "response": f"#### {i}", "answer": str(i)}
            for i in range(N_TRAIN)]
    write_jsonl(root / "data/gold/train.jsonl", gold)
    r0 = planted(0.6, N_TRAIN, rng)
    wrong, right = [i for i, c in enumerate(r0) if not c], [i for i, c in enumerate(r0) if c]
    labels = {"r0": r0}
    for name, (n_fixed, n_broken) in fixed.items():
        labels[name] = list(r0)
        for i in rng.sample(wrong, n_fixed):
            labels[name][i] = True
        for i in rng.sample(right, n_broken):
            labels[name][i] = False
        write_json(root / f"metrics/labels/{name}.json", {
            "label_accuracy": sum(labels[name]) / N_TRAIN, "n_fixed": n_fixed,
            "n_broken": n_broken})
    write_json(root / "metrics/labels/r0.json", {"label_accuracy": sum(r0) / N_TRAIN})
    for name, correct in labels.items():
        write_jsonl(root / f"data/labels/{name}.jsonl", [
            {"id": g["id"], "prompt": "q", "response": f"#### {i if c else i + 1}"}
            for i, (g, c) in enumerate(zip(gold, correct))])
    write_json(root / "metrics/kl/r1.json", {"kl": 1.0 + seed, "kl_se": 0.1})
    return root


def runs(tmp_path, n_seeds=3, **kwargs) -> dict:
    return {f"seed{s}": write_run(tmp_path / f"seed{s}", s, **kwargs) for s in range(n_seeds)}


def compare(paths: dict, **options):
    return compare_runs({s: load_run(p) for s, p in paths.items()}, n_boot=2000, **options)


def test_planted_effects_are_reproduced(tmp_path):
    result = compare(runs(tmp_path))
    claims = result["claims"]
    assert claims["ilr_beats_dpo"]["status"] == "reproduced"
    assert claims["ilr_beats_dpo"]["p"] < 0.001
    assert claims["ilr_beats_dpo"]["comparison"] == result["settings"]["primary"] == "test/r1_vs_d1"
    primary = result["comparisons"]["test"]["r1_vs_d1"]
    assert primary["role"] == "primary" and primary["p_adjusted"] == primary["p"]
    assert primary["diff"] == pytest.approx(0.10)
    assert primary["diff_ci"][0] < 0.10 < primary["diff_ci"][1]
    for key in ("sft_beats_supervisor", "ilr_raises_label_accuracy", "naive_degrades_labels",
                "dpo_not_above_sft"):
        assert claims[key]["status"] == "reproduced", (key, claims[key])
    r1 = result["versions"]["r1"]
    assert (r1["arm"], r1["round"], r1["seeds"]) == ("ilr", 1, ["seed0", "seed1", "seed2"])
    assert r1["test_accuracy"]["mean"] == pytest.approx(0.6) and r1["test_accuracy"]["sd"] == 0
    assert r1["label_accuracy"]["mean"] == pytest.approx(0.7)
    assert r1["kl"] == {"mean": 2.0, "sd": 1.0,
                        "per_seed": {"seed0": 1.0, "seed1": 2.0, "seed2": 3.0}}
    assert result["versions"]["d1"]["label_accuracy"] is None
    sign = result["rounds"]["sign_test"]["r1"]
    assert (sign["n_fixed"], sign["n_broken"]) == (60, 0)
    assert sign["p"] == pytest.approx(binomtest(60, 60, 0.5).pvalue)
    fisher = result["rounds"]["fisher"]["r1_vs_n1"]
    assert fisher["p"] == pytest.approx(fisher_exact([[60, 0], [15, 60]])[1])
    assert fisher["odds_ratio"] is None  # infinite: no ILR label broken


def test_identical_arms_are_inconclusive_with_p_one(tmp_path):
    result = compare(runs(tmp_path, same_as={"d1": "r1"}))
    claim = result["claims"]["ilr_beats_dpo"]
    assert claim["status"] == "inconclusive" and claim["p"] == 1.0 and claim["diff"] == 0
    assert result["comparisons"]["test"]["r1_vs_d1"]["a_only"] == 0


def test_opposite_direction_is_not_reproduced(tmp_path):
    result = compare(runs(tmp_path, test={"r1": 0.45, "d1": 0.65}))
    assert result["claims"]["ilr_beats_dpo"]["status"] == "not reproduced"
    assert result["claims"]["dpo_not_above_sft"]["status"] == "not reproduced"
    result = compare(runs(tmp_path / "b", fixed={"r1": (0, 30), "n1": (30, 0)}))
    assert result["claims"]["ilr_raises_label_accuracy"]["status"] == "not reproduced"
    assert result["claims"]["naive_degrades_labels"]["status"] == "not reproduced"


def test_holm_against_a_hand_computed_family():
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): x4 = 0.02, x3 = 0.03, x2 = 0.06, x1 = 0.04 -> 0.06
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005, "e": None})
    assert adjusted == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02, "e": None})
    assert holm({"a": 0.6, "b": 0.9}) == {"a": 1.0, "b": 1.0}  # capped at 1


def test_secondary_comparisons_are_holm_adjusted_in_one_family(tmp_path):
    result = compare(runs(tmp_path))
    family = [e for group in (result["comparisons"]["test"], result["comparisons"]["labels"],
                              result["rounds"]["sign_test"], result["rounds"]["fisher"])
              for e in group.values() if e.get("role") != "primary"]
    assert len(family) == 8  # r1, d1 vs r0; r0 vs supervisor; labels r1, n1; sign r1, n1; fisher
    assert [e["p_adjusted"] for e in family] == pytest.approx(
        list(holm(dict(enumerate(e["p"] for e in family))).values()))


def test_stratified_mcnemar_pools_discordant_pairs():
    pooled = stratified_mcnemar([{"n": 50, "a_only": 5, "b_only": 1},
                                 {"n": 50, "a_only": 3, "b_only": 0},
                                 {"n": 50, "a_only": 2, "b_only": 4}])
    # 10 of 15 discordant pairs: P(X >= 10) = (3003+1365+455+105+15+1) / 2^15, doubled
    assert (pooled["n"], pooled["a_only"], pooled["b_only"]) == (150, 10, 5)
    assert pooled["p"] == pytest.approx(2 * 4944 / 2 ** 15)


def test_mismatched_test_ids_are_refused_naming_both_files(tmp_path):
    paths = runs(tmp_path, n_seeds=2)
    d1 = paths["seed1"] / "data/predictions/d1.jsonl"
    write_jsonl(d1, [{"id": f"other{i}", "correct": True} for i in range(N_TEST)])
    with pytest.raises(DataFileError, match=r"run seed1: .*r1\.jsonl and .*d1\.jsonl hold "
                                            r"different ids"):
        compare(paths)


def test_bootstrap_is_deterministic_for_a_seed(tmp_path):
    groups = [[1, 0, 1, 1, 0] * 20, [0, 1, 1] * 30]
    assert bootstrap_ci(groups, n_boot=1000, seed=3, key="x") == bootstrap_ci(
        groups, n_boot=1000, seed=3, key="x")
    assert bootstrap_ci(groups, n_boot=1000, seed=4, key="x") != bootstrap_ci(
        groups, n_boot=1000, seed=3, key="x")
    paths = runs(tmp_path, n_seeds=2)
    assert compare(paths, seed=7) == compare(paths, seed=7)


def test_one_seed_has_no_sd_and_a_missing_arm_makes_its_claim_inconclusive(tmp_path):
    paths = runs(tmp_path, n_seeds=1)
    (paths["seed0"] / "data/predictions/supervisor.jsonl").unlink()
    result = compare(paths)
    assert result["versions"]["r1"]["test_accuracy"]["sd"] is None
    claim = result["claims"]["sft_beats_supervisor"]
    assert claim["status"] == "inconclusive" and claim["p"] is None
    assert claim["reason"] == "models missing in every run"
    assert result["pgr"]["per_seed"]["seed0"]["value"] is None
    assert result["pgr"]["per_seed"]["seed0"]["reason"] == "models missing in this seed: supervisor"
    assert result["pgr"]["mean"] is None and result["pgr"]["seeds"] == []


def test_cli_writes_compare_json_without_nan(tmp_path):
    paths = runs(tmp_path, n_seeds=2)
    out = tmp_path / "metrics/compare.json"
    args = ["compare", *[a for s, p in paths.items() for a in ("--run", f"{s}={p}")],
            "--out", str(out), "--n-boot", "500"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "ilr_beats_dpo" in result.output and "reproduced" in result.output
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text and '"None"' not in text
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in compare.json"))
    assert set(data) == {"seeds", "runs", "settings", "versions", "comparisons", "rounds", "claims",
                         "pgr"}
    bad = CliRunner().invoke(cli, ["compare", "--run", f"seed0{paths['seed0']}", "--out", str(out)])
    assert bad.exit_code == 1 and "NAME=PATH" in bad.output


def test_run_compare_and_parse_runs_refuse_bad_input(tmp_path):
    with pytest.raises(ValueError, match="given twice"):
        parse_runs([f"a={tmp_path}", f"a={tmp_path}"])
    with pytest.raises(ValueError, match="not a folder"):
        parse_runs([f"a={tmp_path / 'none'}"])
    with pytest.raises(ValueError, match="params file not found"):
        run_compare({"a": tmp_path}, out=tmp_path / "c.json")


def test_stage_script_writes_the_same_file(tmp_path):
    from stages.compare import main

    paths = runs(tmp_path, n_seeds=2)
    out = tmp_path / "compare.json"
    main([a for s, p in paths.items() for a in ("--run", f"{s}={p}")] +
         ["--out", str(out), "--n-boot", "500"])
    assert json.loads(out.read_text())["claims"]["ilr_beats_dpo"]["status"] == "reproduced"


# PGR: (r0 - supervisor) / (gold - supervisor), per seed; seed2's gold is no better than its
# supervisor, so it has no value
PGR_SEEDS = {0: ({"r0": 0.55, "supervisor": 0.40, "gold": 0.70}, 0.15 / 0.30),
             1: ({"r0": 0.61, "supervisor": 0.40, "gold": 0.68}, 0.21 / 0.28),
             2: ({"r0": 0.50, "supervisor": 0.45, "gold": 0.45}, None)}


def test_pgr_per_seed_is_the_hand_computed_ratio_inside_its_interval(tmp_path):
    paths = {f"seed{s}": write_run(tmp_path / f"seed{s}", s, test=test)
             for s, (test, _) in PGR_SEEDS.items()}
    pgr = compare(paths)["pgr"]
    assert "(acc(r0) - acc(supervisor)) / (acc(gold) - acc(supervisor))" in pgr["definition"]
    for s, (test, expected) in PGR_SEEDS.items():
        entry = pgr["per_seed"][f"seed{s}"]
        assert entry["gap"] == pytest.approx(test["gold"] - test["supervisor"])
        assert entry["recovered"] == pytest.approx(test["r0"] - test["supervisor"])
        if expected is None:
            assert entry["value"] is None and entry["ci"] is None
            assert entry["reason"] == "gold is not above the supervisor in this seed"
            continue
        low, high = entry["ci"]
        assert entry["value"] == pytest.approx(expected) and entry["reason"] is None
        assert low < expected < high and 0.1 < high - low < 0.8, entry["ci"]
    assert pgr["seeds"] == ["seed0", "seed1"]
    assert pgr["mean"] == pytest.approx(0.625)
    assert pgr["sd"] == pytest.approx(0.125 * 2 ** 0.5)  # sample sd of 0.5 and 0.75


def test_pgr_resamples_the_same_problems_for_the_three_models(tmp_path):
    """r0 right exactly where the supervisor is: every paired resample recovers nothing, so the
    interval is [0, 0]; resampling the models' problems independently would spread it."""
    paths = {f"seed{s}": write_run(tmp_path / f"seed{s}", s, test={"r0": 0.40},
                                   same_as={"r0": "supervisor"}) for s in range(2)}
    pgr = compare(paths)["pgr"]
    for entry in pgr["per_seed"].values():
        assert entry["value"] == 0 and entry["ci"] == [0, 0] and entry["skipped"] == 0
    assert (pgr["mean"], pgr["sd"]) == (0, 0)


def test_pgr_skips_and_counts_resamples_where_gold_is_not_above_the_supervisor():
    # 40 problems: the supervisor right on 10, gold on the same 10 and one more, r0 on 10 of
    # the 11 gold gets right: a gap of one problem, which many resamples lose
    sup = [1] * 10 + [0] * 30
    gold = [1] * 11 + [0] * 29
    r0 = [0] + [1] * 10 + [0] * 29
    rng = np.random.default_rng(0)
    entry = seed_pgr(np.array([r0, sup, gold]), n_boot=1000, rng=rng, level=0.95)
    assert entry["value"] == 0.0 and entry["gap"] == pytest.approx(1 / 40)
    assert 200 < entry["skipped"] < 800  # P(the one gold-only problem is not drawn) = 0.36
    assert entry["ci"] is not None
    flat = seed_pgr(np.array([r0, sup, sup]), n_boot=1000, rng=rng, level=0.95)
    assert (flat["value"], flat["ci"], flat["reason"]) == (None, None, NO_GAP)
    assert flat["gap"] == 0 and flat["recovered"] == 0


def test_pgr_with_gold_missing_in_one_seed(tmp_path):
    paths = runs(tmp_path, n_seeds=2)
    (paths["seed1"] / "data/predictions/gold.jsonl").unlink()
    pgr = compare(paths)["pgr"]
    assert pgr["per_seed"]["seed1"]["value"] is None
    assert pgr["per_seed"]["seed1"]["reason"] == "models missing in this seed: gold"
    assert pgr["mean"] == pytest.approx(0.5) and pgr["sd"] is None  # one seed with a value


def hand_points(diff: float) -> str:
    return f"{100 * diff:+.1f}"


def test_every_claim_has_a_reason_naming_each_seeds_difference(tmp_path):
    # r1 - d1: +10, +2 and -3 points in seeds 0, 1 and 2
    paths = {f"seed{s}": write_run(tmp_path / f"seed{s}", s, test={"r1": r1})
             for s, r1 in enumerate((0.60, 0.52, 0.47))}
    result = compare(paths)
    primary = result["claims"]["ilr_beats_dpo"]["reason"]
    assert "seed0 +10.0, seed1 +2.0, seed2 -3.0 points; 2 of 3 seeds in the paper's direction" \
        in primary
    assert "(primary, unadjusted)" in primary
    for key, claim in result["claims"].items():
        assert isinstance(claim["reason"], str) and claim["reason"], key
        kind, name = claim["comparison"].split("/")
        entry = result["comparisons"][kind][name]
        assert f"{hand_points(entry['diff'])} points pooled" in claim["reason"], key
        for seed, t in entry["per_seed"].items():
            assert f"{seed} {hand_points(t['diff'])}" in claim["reason"], (key, seed)


def test_an_inconclusive_claims_reason_says_what_the_data_shows(tmp_path):
    result = compare(runs(tmp_path, same_as={"d1": "r1"}))
    claim = result["claims"]["ilr_beats_dpo"]
    assert claim["status"] == "inconclusive"
    assert "Not significant (p >= 0.05); the CI includes 0 and the pooled estimate is 0" \
        in claim["reason"]
    # a small label gain: inconclusive, leaning the paper's way
    result = compare(runs(tmp_path / "b", fixed={"r1": (3, 1)}))
    claim = result["claims"]["ilr_raises_label_accuracy"]
    assert claim["status"] == "inconclusive"
    assert "the CI includes 0 and the pooled estimate points the paper's way" in claim["reason"]
    assert "3 of 3 seeds in the paper's direction" in claim["reason"]


def test_dpo_claims_reason_compares_the_ci_upper_end_with_the_margin(tmp_path):
    result = compare(runs(tmp_path, test={"d1": 0.57}))  # d1 - r0 = +2 points
    claim = result["claims"]["dpo_not_above_sft"]
    assert claim["status"] == "inconclusive"
    high = hand_points(claim["diff_ci"][1])
    assert f"The CI's upper end {high} exceeds the margin of +2.0 points" in claim["reason"]
    assert "0 of 3 seeds in the paper's direction (d1 not above r0)" in claim["reason"]
    reproduced = compare(runs(tmp_path / "b"))["claims"]["dpo_not_above_sft"]
    assert reproduced["status"] == "reproduced" and "is within the margin of +2.0" \
        in reproduced["reason"]
