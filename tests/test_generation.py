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
