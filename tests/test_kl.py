"""The KL estimate: exact per-token KL summed over sampled responses (ilr.measure.kl)."""
import math
from types import SimpleNamespace

import pytest
import torch
from transformers import BatchEncoding, LlamaConfig, LlamaForCausalLM

from ilr.measure.kl import sample_token_ids, sequence_kls

V = 64  # more than the library's default top_k of 50


class ConstantLM(torch.nn.Module):
    """Next-token logits that do not depend on the prefix: the sequence KL is known exactly."""

    def __init__(self, logits):
        super().__init__()
        self.row = torch.tensor(logits, dtype=torch.float32)
        self.device = torch.device("cpu")

    def forward(self, input_ids, attention_mask=None, logits_to_keep=None):
        positions = input_ids.shape[1] if logits_to_keep is None else len(logits_to_keep)
        return SimpleNamespace(logits=self.row.expand(input_ids.shape[0], positions,
                                                      len(self.row)).clone())


def _kl(p_logits, q_logits):
    p, q = torch.softmax(torch.tensor(p_logits), -1), torch.softmax(torch.tensor(q_logits), -1)
    return float((p * (p / q).log()).sum())


def test_closed_form_and_the_same_at_every_batch_size():
    policy, reference = ConstantLM([2.0, 0.0, -1.0, 0.5]), ConstantLM([0.0, 1.0, 0.0, -0.5])
    samples = [([1, 2, 3], [0, 1]), ([3], [2, 2, 2, 0, 1]), ([0, 0, 0, 0, 0, 0], [3])]
    per_token = _kl([2.0, 0.0, -1.0, 0.5], [0.0, 1.0, 0.0, -0.5])
    expected = [len(r) * per_token for _, r in samples]  # a response of n tokens: n per-token KLs
    for batch_size in (1, 2, 3):
        assert sequence_kls(policy, reference, samples, batch_size=batch_size) == pytest.approx(
            expected, rel=1e-5)
    assert sequence_kls(policy, policy, samples) == [0.0, 0.0, 0.0]


def test_the_response_window_gives_the_full_logits_kl():
    """Two random Llamas whose logits depend on the position: the KL over the response window
    equals the sum computed from every position's logits, for prompts of different lengths
    (an off-by-one in the window's offset would read another position's KL)."""
    def random_lm(seed):
        torch.manual_seed(seed)
        return LlamaForCausalLM(LlamaConfig(vocab_size=V, hidden_size=16, intermediate_size=32,
                                            num_hidden_layers=1, num_attention_heads=2,
                                            num_key_value_heads=2)).eval()

    policy, reference = random_lm(1), random_lm(2)
    samples = [([5, 6, 7, 8, 9], [1, 2]), ([3, 4], [5, 6, 7, 8]), ([1, 2, 3], [9])]
    expected = []
    with torch.no_grad():
        for p, r in samples:
            ids = torch.tensor([p + r])
            logp = torch.log_softmax(policy(input_ids=ids).logits, -1)[0]
            logq = torch.log_softmax(reference(input_ids=ids).logits, -1)[0]
            per_token = (logp.exp() * (logp - logq)).sum(-1)
            expected.append(float(per_token[len(p) - 1:len(p) - 1 + len(r)].sum()))
    assert min(expected) > 0
    assert sequence_kls(policy, reference, samples, batch_size=3) == pytest.approx(expected,
                                                                                   rel=1e-4)


class ToyTokenizer:
    eos_token_id, pad_token_id = 7, 7

    def __call__(self, texts, **_):
        ids = [[1 + (ord(c) % 5) for c in t] for t in texts]
        width = max(map(len, ids))
        return BatchEncoding({  # left padding, as the generator asks for
            "input_ids": torch.tensor([[self.pad_token_id] * (width - len(i)) + i for i in ids]),
            "attention_mask": torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids])})


def _uniform_lm():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=V, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, eos_token_id=7,
                         pad_token_id=7, bos_token_id=1)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight.zero_()  # every next token equally likely
    return model


def test_samples_follow_the_full_distribution_and_keep_only_a_sampled_eos():
    model, tokenizer = _uniform_lm(), ToyTokenizer()
    prompts = [f"prompt {k}" + "x" * (k % 3) for k in range(64)]
    samples = sample_token_ids(model, tokenizer, prompts, max_new_tokens=32, batch_size=16, seed=0)
    drawn = [t for _, r in samples for t in r]
    assert len(set(drawn)) == V  # top-k 50 (the library default) would leave tokens out
    for (prompt, response), text in zip(samples, prompts):
        assert len(prompt) == len(text)  # no padding kept
        assert tokenizer.eos_token_id not in response[:-1]
        assert response[-1] == tokenizer.eos_token_id or len(response) == 32
    again = sample_token_ids(model, tokenizer, prompts, max_new_tokens=32, batch_size=16, seed=0)
    assert again == samples


def test_the_estimate_is_never_negative():
    policy, reference = _uniform_lm(), _uniform_lm()
    with torch.no_grad():
        reference.lm_head.weight.normal_(0, 0.5)
    samples = sample_token_ids(policy, ToyTokenizer(), ["ab", "abc", "b"], max_new_tokens=8,
                               batch_size=2, seed=1)
    kls = sequence_kls(policy, reference, samples, batch_size=2)
    assert all(k >= 0 for k in kls) and sum(kls) > 0
    assert not any(math.isnan(k) for k in kls)
