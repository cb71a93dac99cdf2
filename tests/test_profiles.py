"""Profiles as `dvc exp run -S` overrides: the quick profile, checked against dvc's own parser."""
import shutil
from pathlib import Path

import pytest
import yaml

from ilr.core.params import load_params
from ilr.core.profiles import (Profile, ProfileError, apply_profile, exp_run_command, format_value,
                          load_profile, overrides)

REPO = Path(__file__).resolve().parents[1]

PARAMS = {"task": {"n_train": 400, "arith": {"ops": ["+", "-"]}},
          "rounds": {"r1": {"prev": "r0", "mode": "feedback"}, "r2": {"prev": "r1", "mode": "feedback"},
                     "r3": {"prev": "r2", "mode": "feedback"}},
          "dpo_rounds": {"d1": {"policy": "models/sft/r0"}}}


def test_overrides_set_only_what_differs():
    profile = Profile(path="p.yaml", params={"task": {"n_train": 8, "arith": {"ops": ["+"]}, "new": True}},
                      replace={"rounds": {"r1": {"prev": "r0", "mode": "feedback"},
                                          "n1": {"prev": "r0", "mode": "naive"}},
                               "dpo_rounds": {"d1": {"policy": "models/sft/r0"}}})
    assert overrides(PARAMS, profile) == [
        "task.n_train=8", "task.arith.ops=['+']", "+task.new=true",
        "~rounds.r2", "~rounds.r3", "+rounds.n1={prev: 'r0', mode: 'naive'}"]


def test_a_changed_round_is_set_leaf_by_leaf_and_a_missing_section_whole():
    profile = Profile(path="p.yaml", replace={"rounds": {"r1": {"prev": "r0", "mode": "naive"}},
                                              "extra": {"a": 1}})
    assert overrides(PARAMS, profile) == ["~rounds.r2", "~rounds.r3", "rounds.r1.mode='naive'",
                                          "+extra={a: 1}"]


def test_format_value_quotes_strings_and_refuses_what_yaml_would_misread():
    assert format_value("models/sft/r0") == "'models/sft/r0'"
    assert format_value("it's") == '"it\'s"'
    assert format_value([1, 0.25, None, False]) == "[1, 0.25, null, false]"
    assert format_value({"prev": "r0"}) == "{prev: 'r0'}"
    with pytest.raises(ProfileError, match="1e-06"):
        format_value(1e-6, "sft.args.learning_rate")  # dvc writes it back as 1e-06: a string to PyYAML
    with pytest.raises(ProfileError, match="not a plain name"):
        format_value({"a b": 1}, "x")


def test_apply_profile_copies():
    profile = Profile(path="p.yaml", params={"task": {"n_train": 8}}, replace={"rounds": {}})
    applied = apply_profile(PARAMS, profile)
    assert applied["task"] == {"n_train": 8, "arith": {"ops": ["+", "-"]}} and applied["rounds"] == {}
    assert PARAMS["task"]["n_train"] == 400 and len(PARAMS["rounds"]) == 3


def test_load_profile_refuses_unknown_sections(tmp_path):
    (tmp_path / "p.yaml").write_text("params: {}\nrounds: {}\n")
    with pytest.raises(ProfileError, match=r"unknown sections \['rounds'\]"):
        load_profile(tmp_path / "p.yaml")
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "none.yaml")


def test_the_quick_profile_through_dvcs_own_override_parser(tmp_path):
    """What `dvc exp run -S ...` writes to params.yaml is the profile applied, and it loads."""
    from dvc.utils.hydra import apply_overrides

    profile = load_profile(REPO / "profiles/quick.yaml")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    command = exp_run_command(params, profile)
    assert command[:3] == ["dvc", "exp", "run"] and command[3::2] == ["-S"] * len(command[4::2])
    apply_overrides(tmp_path / "params.yaml", command[4::2])
    written = yaml.safe_load((tmp_path / "params.yaml").read_text())
    assert written == apply_profile(params, profile)
    loaded = load_params(tmp_path / "params.yaml")
    # all three arms: ILR rounds, a naive round, a DPO round
    assert {name: r.mode for name, r in loaded.rounds.items()} == {"r1": "feedback", "r2": "feedback",
                                                                    "n1": "naive"}
    assert list(loaded.dpo_rounds) == ["d1"]
    assert loaded.task.n_train == 8 and loaded.sft.args["max_steps"] == 2
