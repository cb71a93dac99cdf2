"""What both generation engines share: prompts rendered with the chat template, and generated
ids turned into ``{"text", "n_tokens"}`` alike. Below both engines, so neither imports the other."""
from __future__ import annotations


def render_prompts(tokenizer, conversations: list[list[dict]]) -> list[str]:
    return [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
            for c in conversations]


def response_record(tokenizer, token_ids) -> dict:
    """``{"text", "n_tokens"}`` of generated ids: cut after the first EOS (counted), decoded
    without special tokens and stripped; the same for both engines."""
    ids = [int(t) for t in token_ids]
    n = ids.index(tokenizer.eos_token_id) + 1 if tokenizer.eos_token_id in ids else len(ids)
    return {"text": tokenizer.decode(ids[:n], skip_special_tokens=True).strip(), "n_tokens": n}
