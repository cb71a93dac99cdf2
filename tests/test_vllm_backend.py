"""`generation.backend`: the params-to-SamplingParams mapping, the regrouping of n > 1 samples
and the input order, checked against a stand-in `vllm` module put in sys.modules; the real
engine (marker `vllm`, where the package imports) must match transformers' greedy answers."""
import importlib.util
import json
import sys
import types

from pathlib import Path

import pytest

from ilr.core.params import EMBEDDED_MODEL, GenerationParams
from ilr.engines import generation
from ilr.engines import prompts
from ilr.engines.generation import generate_responses, resolve_backend

A = [{"role": "user", "content": "What is 2 + 3?"}]
B = [{"role": "user", "content": "Count: 1, 2, 3,"}]
C = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fruit."}]


@pytest.fixture(scope="module")
def tokenizer():
    from ilr.train.checkpoints import load_tokenizer

    return load_tokenizer(EMBEDDED_MODEL)


class StandIn:
    """What the code under test may touch of vllm: SamplingParams, LLM and LoRARequest. Each
    request's k-th sample is the text "<request>-<k>", then EOS unless max_tokens is 1."""

    def __init__(self, tokenizer):
        self.tokenizer, self.engines, self.calls = tokenizer, [], []
        stand_in = self

        class SamplingParams:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

        class LLM:
            def __init__(self, **kwargs):
                stand_in.engines.append(kwargs)

            def generate(self, prompts, sampling_params, lora_request=None, use_tqdm=True):
                stand_in.calls.append({"prompts": prompts, "params": sampling_params,
                                       "lora": lora_request})
                return [stand_in.request_output(k, p.kwargs)
                        for k, p in enumerate(sampling_params)]

        class LoRARequest:
            def __init__(self, name, int_id, path):
                self.args = (name, int_id, path)

        self.vllm = types.ModuleType("vllm")
        self.vllm.SamplingParams, self.vllm.LLM = SamplingParams, LLM
        self.request = types.ModuleType("vllm.lora.request")
        self.request.LoRARequest = LoRARequest

    def request_output(self, k, kwargs):
        eos = self.tokenizer.eos_token_id
        samples = []
        for j in range(kwargs["n"]):
            ids = self.tokenizer(f"{k}-{j}", add_special_tokens=False)["input_ids"]
            stop = kwargs["max_tokens"] > 1
            samples.append(types.SimpleNamespace(token_ids=ids + [eos] if stop else ids,
                                                 finish_reason="stop" if stop else "length"))
        return types.SimpleNamespace(outputs=samples)


@pytest.fixture
def stand_in(tokenizer, monkeypatch):
    fake = StandIn(tokenizer)
    monkeypatch.setitem(sys.modules, "vllm", fake.vllm)
    monkeypatch.setitem(sys.modules, "vllm.lora", types.ModuleType("vllm.lora"))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", fake.request)
    return fake


def test_greedy_maps_to_temperature_zero_and_keeps_the_order(stand_in, tokenizer, tmp_path):
    params = GenerationParams(max_new_tokens=20)
    out = generate_responses(str(tmp_path), tokenizer, [A, B, C, A], params=params, seed=3,
                             backend="vllm")
    assert [o["text"] for o in out] == ["0-0", "1-0", "2-0", "3-0"]  # request k -> prompt k
    assert [o["n_tokens"] for o in out] == [
        len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in ("0-0", "1-0", "2-0", "3-0")]
    (call,) = stand_in.calls
    for p in call["params"]:
        assert p.kwargs | {"seed": None} == {"n": 1, "temperature": 0.0, "max_tokens": 20,
                                             "stop_token_ids": [tokenizer.eos_token_id],
                                             "detokenize": False, "seed": None}
    rendered = prompts.render_prompts(tokenizer, [A, B, C, A])
    assert [p["prompt_token_ids"] for p in call["prompts"]] == [
        tokenizer(r, add_special_tokens=False)["input_ids"] for r in rendered]
    assert stand_in.engines == [{"model": str(tmp_path), "dtype": "float32", "seed": 3,
                                 "skip_tokenizer_init": True}]
    assert call["lora"] is None


def test_samples_of_one_prompt_are_one_request_regrouped_in_order(stand_in, tokenizer, tmp_path):
    params = GenerationParams(max_new_tokens=20, do_sample=True, temperature=0.7, top_p=0.9)
    conversations = [A, A, A, B, B, B, C, A]  # DPO's layout: n_samples copies per prompt
    out = generate_responses(str(tmp_path), tokenizer, conversations, params=params, seed=5,
                             backend="vllm")
    assert [o["text"] for o in out] == ["0-0", "0-1", "0-2", "1-0", "1-1", "1-2", "2-0", "3-0"]
    (call,) = stand_in.calls
    kwargs = [p.kwargs for p in call["params"]]
    assert [k["n"] for k in kwargs] == [3, 3, 1, 1]
    assert all(k["temperature"] == 0.7 and k["top_p"] == 0.9 and k["max_tokens"] == 20
               and k["top_k"] == 50 for k in kwargs)  # transformers' default top-k, no config
    seeds = [k["seed"] for k in kwargs]
    assert len(set(seeds)) == 4  # independent streams per request ...
    generate_responses(str(tmp_path), tokenizer, conversations, params=params, seed=5,
                       backend="vllm")
    assert [p.kwargs["seed"] for p in stand_in.calls[1]["params"]] == seeds  # ... and seeded
    (tmp_path / "generation_config.json").write_text(json.dumps({"top_k": 20}))
    generate_responses(str(tmp_path), tokenizer, [A], params=params, backend="vllm")
    assert stand_in.calls[2]["params"][0].kwargs["top_k"] == 20  # the model's own top-k


def test_a_stop_without_eos_counts_it_and_a_length_stop_does_not(stand_in, tokenizer, tmp_path):
    from ilr.engines.vllm_backend import generate_vllm

    out = generate_vllm(str(tmp_path), tokenizer, [A], params=GenerationParams(max_new_tokens=1))
    assert out[0]["n_tokens"] == len(tokenizer("0-0", add_special_tokens=False)["input_ids"])
    assert out[0]["text"] == "0-0"


def test_a_lora_adapter_is_a_lora_request_on_its_base(stand_in, tokenizer, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps(
        {"base_model_name_or_path": "models/base", "r": 24, "peft_type": "LORA"}))
    generate_responses(str(adapter), tokenizer, [A, B], params=GenerationParams(), seed=0,
                       backend="vllm", dtype="float32")
    (engine,) = stand_in.engines
    assert engine["model"] == "models/base"
    assert (engine["enable_lora"], engine["max_lora_rank"], engine["max_loras"]) == (True, 32, 1)
    assert stand_in.calls[0]["lora"].args == ("adapter", 1, str(adapter.resolve()))


def test_auto_is_vllm_only_with_the_package_and_a_gpu(monkeypatch):
    assert resolve_backend("transformers") == "transformers"
    assert resolve_backend("vllm") == "vllm"
    monkeypatch.setattr(generation.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(generation.torch.cuda, "is_available", lambda: False)
    assert resolve_backend("auto") == "transformers"  # vllm installed, no GPU: every CPU run
    monkeypatch.setattr(generation.torch.cuda, "is_available", lambda: True)
    assert resolve_backend("auto") == "vllm"
    monkeypatch.setattr(generation.importlib.util, "find_spec", lambda name: None)
    assert resolve_backend("auto") == "transformers"
    with pytest.raises(ValueError, match="generation.backend: 'tgi'"):
        resolve_backend("tgi")


def test_vllm_needs_a_saved_model_and_engine_model_saves_one(stand_in, tokenizer, tmp_path,
                                                            monkeypatch):
    with pytest.raises(ValueError, match="saved model folder"):
        generate_responses(object(), tokenizer, [A], params=GenerationParams(), backend="vllm")
    model = object()
    assert generation.engine_model(model, tokenizer, str(tmp_path / "m"),
                                   backend="transformers") is model
    saved = []
    monkeypatch.setattr("ilr.train.checkpoints.save_causal_lm",
                        lambda m, t, out, dtype: saved.append((m, out, dtype)))
    assert generation.engine_model(model, tokenizer, str(tmp_path / "m"), backend="vllm",
                                   dtype="float32") == str(tmp_path / "m")
    assert saved == [(model, str(tmp_path / "m"), "float32")]


def test_the_backend_param_is_checked(tmp_path):
    import yaml

    from ilr.core.params import ParamsError, load_params

    params = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text())
    assert params["generation"] == {"backend": "auto"}
    params["generation"]["backend"] = "onnx"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=r"generation.backend: 'onnx' is not allowed"):
        load_params(tmp_path / "params.yaml")


@pytest.mark.vllm
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed")
def test_real_vllm_greedy_matches_transformers(embedded_model, embedded_model_dir):
    model, tokenizer = embedded_model
    params = GenerationParams(batch_size=4, max_new_tokens=24)
    conversations = [A, B, C, A]
    want = generate_responses(model, tokenizer, conversations, params=params)
    got = generate_responses(embedded_model_dir, tokenizer, conversations, params=params,
                             backend="vllm")
    assert got == want
