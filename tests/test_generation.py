"""The batched generator returns, in input order, what one-prompt-at-a-time greedy decoding gives."""
import torch

from ilr.core.params import GenerationParams
from ilr.engines.generation import generate_responses
from ilr.engines.prompts import render_prompts

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2 + 3?"}],
    [{"role": "system", "content": "Be brief."},
     {"role": "user", "content": "Name a colour that is also a fruit, and say why in one sentence."}],
    [{"role": "user", "content": "Count: 1, 2, 3,"}],
]


def test_batched_greedy_matches_one_at_a_time(embedded_model):
    model, tokenizer = embedded_model
    params = GenerationParams(batch_size=3, max_new_tokens=12)
    batched = generate_responses(model, tokenizer, CONVERSATIONS, params=params)
    for conversation, got in zip(CONVERSATIONS, batched):
        prompt = render_prompts(tokenizer, [conversation])[0]
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=12, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        want = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()
        assert got["text"] == want
        assert 0 < got["n_tokens"] <= 12


def test_sampling_is_seeded(embedded_model):
    model, tokenizer = embedded_model
    params = GenerationParams(batch_size=2, max_new_tokens=8, do_sample=True, temperature=1.0)
    a = generate_responses(model, tokenizer, CONVERSATIONS, params=params, seed=1)
    b = generate_responses(model, tokenizer, CONVERSATIONS, params=params, seed=1)
    assert a == b


def _attention_inputs(dtype, queries=1):
    """Random q/k/v of 6 query heads over 2 key/value heads (GQA), 5 keys, the first two
    masked for row 0 as left padding: transformers' shapes and sdpa's boolean mask."""
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(3, 6, queries, 8, generator=gen).to(dtype)
    key, value = (torch.randn(3, 2, 5, 8, generator=gen).to(dtype) for _ in range(2))
    mask = torch.ones(3, 1, queries, 5, dtype=torch.bool)
    mask[0, :, :, :2] = False
    return query, key, value, mask


def test_decode_attention_is_sdpas_attention():
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from ilr.engines.generation import decode_attention

    module = torch.nn.Module()
    module.num_key_value_groups, module.is_causal = 3, True
    for dtype, tolerance in ((torch.float32, 1e-6), (torch.bfloat16, 1e-2)):
        query, key, value, mask = _attention_inputs(dtype)
        got, _ = decode_attention(module, query, key, value, mask, scaling=8 ** -0.5)
        want, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=8 ** -0.5)
        assert got.shape == want.shape == (3, 1, 6, 8) and got.dtype == dtype
        torch.testing.assert_close(got.float(), want.float(), atol=tolerance, rtol=0)
        # the masked keys count for nothing: changing them changes no output
        key[0, :, :2], value[0, :, :2] = 100.0, -100.0
        torch.testing.assert_close(decode_attention(module, query, key, value, mask,
                                                   scaling=8 ** -0.5)[0], got)
    query, key, value, mask = _attention_inputs(torch.float32, queries=4)  # a prefill: sdpa's
    mask = mask & torch.ones(4, 5, dtype=torch.bool).tril(1)
    assert torch.equal(decode_attention(module, query, key, value, mask)[0],
                       sdpa_attention_forward(module, query, key, value, mask)[0])


def test_the_cpu_engine_decodes_through_decode_attention_then_puts_sdpa_back(embedded_model,
                                                                           monkeypatch):
    from transformers import AttentionInterface

    from ilr.engines import generation

    model, tokenizer = embedded_model
    assert model.config._attn_implementation == "sdpa"
    one_token_calls, seen = [], []
    decode = AttentionInterface._global_mapping[generation.DECODE_ATTENTION]

    def counted(module, query, *args, **kwargs):
        one_token_calls.append(query.shape[2] == 1)
        return decode(module, query, *args, **kwargs)

    monkeypatch.setitem(AttentionInterface._global_mapping, generation.DECODE_ATTENTION, counted)
    generate = model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: seen.append(
        model.config._attn_implementation) or generate(**kw))
    params = GenerationParams(batch_size=3, max_new_tokens=4)
    generate_responses(model, tokenizer, CONVERSATIONS, params=params)
    assert seen == [generation.DECODE_ATTENTION]
    layers = model.config.num_hidden_layers
    assert one_token_calls.count(False) == layers  # the prefill, one call a layer
    assert one_token_calls.count(True) >= layers  # at least one decoding step, every layer
    assert model.config._attn_implementation == "sdpa"
