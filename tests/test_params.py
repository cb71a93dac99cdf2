from pathlib import Path

import pytest
import yaml

from ilr.core.params import Params, ParamsError, build_section, load_params
from ilr.core.params_section import Section
from ilr.core.profiles import apply_profile, load_profile
from ilr.train.sft import build_lora_config, build_sft_config

REPO = Path(__file__).resolve().parents[1]
PARAMS_FILES = sorted(REPO.glob("params*.yaml")) + sorted((REPO / "tests" / "data").glob("*params*.yaml"))


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
def test_every_params_file_loads(path):
    params = load_params(path)
    assert isinstance(params, Params)


@pytest.mark.parametrize("path", sorted((REPO / "profiles").glob("*.yaml")), ids=lambda p: p.name)
def test_every_profile_applied_to_params_yaml_loads(tmp_path, path):
    merged = apply_profile(yaml.safe_load((REPO / "params.yaml").read_text()), load_profile(path))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    assert isinstance(load_params(tmp_path / "params.yaml"), Params)


def _drift(written: dict, default: Section, where: str = "") -> list[str]:
    """The keys params.yaml sets to something other than the models' default. Free-form
    mappings with no default of their own (library config fields under `args`/`lora`, which
    the library defaults; the named `rounds`/`dpo_rounds`), `propose.versions` (the prevs of
    those rounds) and lists whose default is empty (`seeds`: none by default, the committed
    run's three-seed comparison in params.yaml) are the file's alone."""
    found = []
    for key, value in written.items():
        dotted, current = f"{where}{key}", getattr(default, key)
        if isinstance(current, Section):
            found += _drift(value or {}, current, f"{dotted}.")
        elif dotted == "propose.versions":
            continue
        elif value != current and not any(current == empty and isinstance(value, type(empty))
                                           for empty in ({}, [])):
            found.append(f"{dotted}: params.yaml {value!r}, default {current!r}")
    return found


def test_the_models_defaults_are_what_params_yaml_sets():
    """One source of defaults: every key params.yaml sets equals the model's default, so a
    value the YAML reads differently from how it looks (an unquoted ` #` starts a comment)
    or a default changed on one side only fails here."""
    written = yaml.safe_load((REPO / "params.yaml").read_text())
    assert _drift(written, Params()) == []


def test_the_drift_check_catches_a_yaml_comment_in_a_value():
    written = yaml.safe_load("task:\n  system_prompt: Solve it, then answer after ####.\n")
    assert _drift(written, Params()) == [
        "task.system_prompt: params.yaml 'Solve it, then answer after', default "
        "'Solve the problem step by step, then give the final answer after ####.'"]


def test_params_yaml_builds_sft_and_lora_configs(tmp_path):
    """Drift test: every key under sft.args / sft.lora is a real SFTConfig / LoraConfig field."""
    params = load_params(REPO / "params.yaml")
    config = build_sft_config(params.sft, output_dir=str(tmp_path), seed=params.seed)
    for key, value in params.sft.args.items():
        assert getattr(config, key) == value, key
    assert config.seed == params.seed
    from ilr.train.feedback_model import build_training_args

    training = build_training_args(params.feedback_model, output_dir=str(tmp_path), seed=params.seed)
    for key, value in params.feedback_model.args.items():
        assert getattr(training, key) == value, key
    supervisor = build_sft_config(params.sft.__class__(args=params.supervisor.args),
                                  output_dir=str(tmp_path), seed=params.seed)
    assert supervisor.num_train_epochs == params.supervisor.args["num_train_epochs"]
    lora = build_lora_config(params.sft.__class__(use_lora=True, lora=params.sft.lora))
    assert lora.r == params.sft.lora["r"] and lora.task_type == "CAUSAL_LM"
    assert build_lora_config(params.sft.__class__(use_lora=False)) is None


def _write(tmp_path, data) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("data,message", [
    ({"tsk": {}}, r"unknown key\(s\) \['tsk'\]"),
    ({"task": {"n_trian": 3}}, r"task.n_trian"),
    ({"task": {"name": "mnist"}}, r"task.name: 'mnist' is not allowed; choose one of \['arith', 'gsm8k', 'sql', 'safety'\]"),
    ({"task": {"n_train": "many"}}, r"task.n_train: expected int"),
    ({"task": {"n_test": 0}}, r"task.n_test: must be > 0"),
    ({"task": {"arith": {"ops": ["^"]}}}, r"task.arith.ops"),
    ({"evaluate": {"do_sample": "yes"}}, r"evaluate.do_sample: expected bool"),
    ({"model": {"save_dtype": "int8"}}, r"model.save_dtype"),
    ({"seed": True}, r"seed: expected int"),
    ({"sft": []}, r"sft: expected a mapping"),
    ({"supervise": {"kind": "crowd"}}, r"supervise.kind: 'crowd' is not allowed; choose one of \['model', 'noise', 'file'\]"),
    ({"feedback": {"kind": "llm"}}, r"feedback.kind: 'llm' is not allowed; choose one of \['classifier', 'oracle', 'file'\]"),
    ({"feedback": {"oracle": {"flip_rate": 1.5}}}, r"feedback.oracle.flip_rate: must be a probability in \[0, 1\]"),
    ({"supervise": {"noise": {"error_rate": -0.1}}}, r"supervise.noise.error_rate: must be a probability"),
    ({"supervisor": {"n_train": 0}}, r"supervisor.n_train: must be > 0"),
    ({"refine": {"alpha": 0.0}}, r"refine.alpha: must be in \(0, 1\]"),
    ({"refine": {"alpha": 1.5}}, r"refine.alpha: must be in \(0, 1\]"),
    ({"refine": {"alpha_scope": "all"}}, r"refine.alpha_scope: 'all' is not allowed; choose one of \['dataset', 'compared'\]"),
    ({"rounds": {"r1": {"prev": "r9"}}}, r"rounds.r1.prev: 'r9' is neither 'r0' nor a round"),
    ({"rounds": {"r1": {"prev": "r2"}, "r2": {"prev": "r1"}}}, r"form a loop"),
    ({"rounds": {"r1": {"mode": "greedy"}}}, r"rounds.r1.mode: 'greedy' is not allowed; choose one of \['feedback', 'naive', 'naive_reference'\]"),
    ({"rounds": {"r1": {"prev": "r0", "alpha": 0.2}}}, r"unknown key\(s\) \['rounds.r1.alpha'\]"),
    ({"rounds": {"gold": {"prev": "r0"}}}, r"rounds.gold: a round name"),
    ({"rounds": ["r1", "r2"]}, r"rounds: expected a mapping of names to sections"),
    ({"task": {"arith": {"stepz": 2}}}, r"unknown key\(s\) \['task.arith.stepz'\]; allowed under task.arith: "
                                        r"\['steps', 'min_value', 'max_value', 'ops'\]"),
    ({"task": {"arith": {"steps": "2"}}}, r"task.arith.steps: expected int, got '2'"),
    ({"quality": {"min_has_final_answer": 1.5}}, r"quality.min_has_final_answer: must be a probability"),
    ({"quality": {"min_parseable": 0.9}}, r"unknown key\(s\) \['quality.min_parseable'\]"),
    ({"seed": -1}, r"seed: Input should be greater than or equal to 0, got -1"),
    ({"seeds": [1, -2]}, r"seeds.1: Input should be greater than or equal to 0, got -2"),
    ({"dpo_rounds": {"d1": {"policy": "models/sft/r9"}}},
     r"dpo_rounds.d1.policy: 'models/sft/r9' is not a model any stage produces; choose one of "
     r"\['models/base', 'models/supervisor', 'models/sft/gold', 'models/sft/r0'"),
    ({"dpo_rounds": {"d1": {"policy": "models/dpo/d2"}, "d2": {"policy": "models/dpo/d1"}}},
     r"dpo_rounds.d1.policy: the DPO rounds \['d1', 'd2'\] start from each other in a loop"),
    ({"dpo_rounds": {"d1": {"policy": "models/dpo/d1"}}}, r"dpo_rounds.d1.policy: 'models/dpo/d1' is not a model"),
    ({"rounds": {"r1": {"prev": "r0"}}, "dpo_rounds": {"r1": {"policy": "models/sft/r0"}}},
     r"dpo_rounds.r1: a DPO round name must be letters, digits or _ and not 'r0', 'gold' or an ILR round"),
    ({"seed": "0", "task": {"name": "mnist"}}, r"^\S*params.yaml: seed: expected int, got '0' \(and 1 more problem"),
])
def test_bad_params_name_the_key(tmp_path, data, message):
    with pytest.raises(ParamsError, match=message):
        load_params(_write(tmp_path, data))


def test_unknown_sft_field_is_refused(tmp_path):
    params = load_params(_write(tmp_path, {"sft": {"args": {"learning_rat": 1.0}}}))
    with pytest.raises(ParamsError, match=r"sft.args: unknown SFTConfig field\(s\) \['learning_rat'\]"):
        build_sft_config(params.sft, output_dir=str(tmp_path), seed=0)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_rounds_chain_from_r0():
    from ilr.method.rounds import round_depth

    assert load_params(REPO / "params.yaml").rounds["r1"].prev == "r0"
    rounds = {"r1": {"prev": "r0"}, "r2": {"prev": "r1"}, "r3": {"prev": "r2"},
              "n1": {"prev": "r0", "mode": "naive"}, "n2": {"prev": "n1", "mode": "naive"}}
    params = build_section(Params, {"rounds": rounds, "propose": {"versions": ["r0", "r1", "r2", "n1"]}})
    assert {name: round_depth(params.rounds, name) for name in params.rounds} == {
        "r1": 1, "r2": 2, "r3": 3, "n1": 1, "n2": 2}
    assert {params.rounds[n].mode for n in ("r1", "r2", "r3")} == {"feedback"}


@pytest.mark.parametrize("text,message", [
    ("seed: 0\nrefine:\n  alpha: 0.1\nrefine:\n  alpha_scope: compared\n",
     r"params.yaml:4: key 'refine' is written twice in one mapping \(first on line 2\)"),
    ("refine:\n  alpha: 0.1\n  alpha: 0.2\n", r"params.yaml:3: key 'alpha' is written twice"),
    ("rounds:\n  r1: {prev: r0}\n  r2: {prev: r1, mode: naive, mode: feedback}\n",
     r"params.yaml:3: key 'mode' is written twice"),
    ("", r"params.yaml: the params file is empty"),
    ("# only a comment\n\n", r"params.yaml: the params file is empty"),
    ("{}\n", r"params.yaml: the params file is empty"),
])
def test_duplicate_keys_and_empty_files_are_refused(tmp_path, text, message):
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match=message):
        load_params(tmp_path / "params.yaml")


def test_a_byte_order_mark_and_crlf_are_read(tmp_path):
    (tmp_path / "params.yaml").write_bytes(b"\xef\xbb\xbfseed: 3\r\nrefine:\r\n  alpha: 0.2\r\n")
    params = load_params(tmp_path / "params.yaml")
    assert params.seed == 3 and params.refine.alpha == 0.2


LIBRARY_SECTIONS = {  # params key -> the library config class its fields belong to
    ("sft", "args"): ("trl", "SFTConfig"), ("supervisor", "args"): ("trl", "SFTConfig"),
    ("dpo", "args"): ("trl", "DPOConfig"),
    ("feedback_model", "args"): ("transformers", "TrainingArguments"),
    ("sft", "lora"): ("peft", "LoraConfig"), ("supervisor", "lora"): ("peft", "LoraConfig"),
    ("dpo", "lora"): ("peft", "LoraConfig")}


@pytest.mark.parametrize("path", PARAMS_FILES + sorted((REPO / "profiles").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_library_sections_parse_with_hf_argument_parser(tmp_path, path):
    """Every committed params file's and profile's `args`/`lora` sections are read by the
    libraries' own parser: no unknown field, and each config's own checks pass."""
    import importlib

    from transformers import HfArgumentParser

    data = yaml.safe_load(path.read_text())
    if path.parent.name == "profiles":
        data = apply_profile(yaml.safe_load((REPO / "params.yaml").read_text()), load_profile(path))
    for (section, field), (module, name) in LIBRARY_SECTIONS.items():
        values = (data.get(section) or {}).get(field) or {}
        config_class = getattr(importlib.import_module(module), name)
        if field == "args":
            values = {"output_dir": str(tmp_path / "out"), "use_cpu": True, **values, "bf16": False}
        if name == "LoraConfig":  # peft 0.21's LoraConfig has a field type HfArgumentParser
            config = config_class(**values)  # cannot build an argument for (a parameterized generic)
        else:
            (config,) = HfArgumentParser(config_class).parse_dict(values, allow_extra_keys=False)
        assert all(getattr(config, k) == v for k, v in values.items() if k != "output_dir")


def test_each_round_prev_needs_its_proposals(tmp_path):
    """A round whose prev is not in propose.versions has no propose stage to read: refused with
    the list to write; rounds with the same prev share one version."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["rounds"] = {"r1": {"prev": "r0", "mode": "feedback"},
                        "r2": {"prev": "r1", "mode": "feedback"}}
    params["propose"]["versions"] = ["r0"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=r"propose.versions: \['r0'\] lacks \['r1'\].*\['r0', 'r1'\]"):
        load_params(path)
    params["propose"]["versions"] = ["r0", "r1"]
    path.write_text(yaml.safe_dump(params))
    assert load_params(path).propose.versions == ["r0", "r1"]
    params["propose"]["versions"] = ["r0", "r1", "r0"]
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match="lists a version twice"):
        load_params(path)


def test_proposal_versions_no_round_refines_are_refused():
    """A version in propose.versions that no round refines would wait on labels no stage
    writes (a profile that keeps fewer rounds than params.yaml lists versions for)."""
    import pytest

    from ilr.core.params import RoundParams
    from ilr.method.rounds import check_proposal_versions

    rounds = {"r1": RoundParams(prev="r0", mode="feedback")}
    check_proposal_versions(rounds, ["r0"])
    with pytest.raises(ValueError, match=r"lists \['r1'\], which no round refines; set it to \['r0'\]"):
        check_proposal_versions(rounds, ["r0", "r1"])
