"""Tokens/s of the batched generator vs a one-prompt-at-a-time `model.generate` loop, or vs vLLM.

    python bench/generate.py --model models/base --prompts 64 --max-new-tokens 64
    python bench/generate.py --model models/base --prompts 64 --max-new-tokens 64 --vllm
    python bench/generate.py --variants eager,static --json out.json   # other HF set-ups
    python bench/generate.py --model models/sft/r0 --variants batch128  # another batch size

``--variants`` times the batched engine again with eager attention (``eager``) and with a
static KV cache whose decoding step ``torch.compile`` compiles (``static``: transformers'
``cache_implementation="static"`` and a ``CompileConfig``, which it applies on a CPU only when
asked), with another batch size (``batch<N>``) and through transformers' continuous batching
(``continuous[<N>]``: ``model.generate_batch``, at most N requests a step), each against the
default (sdpa, dynamic cache, ``--batch-size``) on the same prompts, with how many greedy
answers equal the default's. Timed runs of the same engine in one process differ by up to
~10% here (bench/results/generation-decode-attention.json): read a ratio within ~1.1 as no
difference. ``--json`` writes every figure printed.

Both run on the same arith test prompts in one process, greedy, same dtype; prints both and the
ratio. With --vllm the second engine is vLLM (``generation.backend: vllm``): it prints how many
greedy answers equal the transformers engine's (exit 1 if any differs), vLLM's tokens/s with
its engine start-up and without it (a second, warm ``LLM.generate`` of the same requests).
"""
import argparse
import time

import torch

from ilr.core.params import GenerationParams, TaskParams
from ilr.engines.generation import generate_responses
from ilr.engines.prompts import render_prompts
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.task import task_from_params
from ilr.train.checkpoints import inference_dtype, load_causal_lm, load_tokenizer
from train_throughput import cpu_line


def time_loop(model, tokenizer, conversations, max_new_tokens):
    tokens, start = 0, time.perf_counter()
    for prompt in render_prompts(tokenizer, conversations):
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        tokens += out.shape[1] - ids.shape[1]
    return tokens, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/base")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--vllm", action="store_true", help="compare with the vLLM engine")
    parser.add_argument("--dtype", default="float32", help="model.dtype of both engines")
    parser.add_argument("--variants", default="",
                        help="comma-separated: eager, static, batch<N>, continuous[<N>]")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    model = load_causal_lm(args.model, dtype=inference_dtype(args.dtype))
    tokenizer = load_tokenizer(args.model)
    task = task_from_params(TaskParams())
    records = generate_records(ArithSpec(), n=args.prompts, seed=0, split="bench")
    conversations = [task.render_messages(r["prompt"]) for r in records]
    params = GenerationParams(batch_size=args.batch_size, max_new_tokens=args.max_new_tokens)
    generate_responses(model, tokenizer, conversations[:2], params=params.model_copy(
        update={"max_new_tokens": 4}))  # warm-up: the first call's kernel set-up is not timed
    start = time.perf_counter()
    batched = generate_responses(model, tokenizer, conversations, params=params)
    batched_s = time.perf_counter() - start
    batched_tokens = sum(r["n_tokens"] for r in batched)
    print(f"model={args.model} dtype={model.dtype} threads={torch.get_num_threads()} "
          f"prompts={args.prompts} max_new_tokens={args.max_new_tokens}")
    b = batched_tokens / batched_s
    print(f"batched (batch {args.batch_size}): {batched_tokens} tokens in {batched_s:.1f} s = {b:.1f} tokens/s")
    figures = {"cpu": cpu_line(), "model": args.model, "dtype": str(model.dtype),
               "threads": torch.get_num_threads(), "prompts": args.prompts,
               "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
               "engines": [{"engine": "transformers (sdpa, dynamic cache)",
                            "tokens": batched_tokens,
                            "seconds": batched_s, "tokens_per_s": b}]}
    if args.vllm:
        code = compare_vllm(args, tokenizer, conversations, params, batched, b, figures)
    else:
        for variant in filter(None, args.variants.split(",")):
            figures["engines"].append(time_variant(variant, model, tokenizer, conversations,
                                                   params, batched, b))
        if not args.variants:
            loop_tokens, loop_s = time_loop(model, tokenizer, conversations, args.max_new_tokens)
            s = loop_tokens / loop_s
            print(f"one at a time:        {loop_tokens} tokens in {loop_s:.1f} s = {s:.1f} tokens/s")
            print(f"ratio: {b / s:.1f}x")
        code = 0
    if args.json:
        from ilr.core.io import write_json

        write_json(args.json, figures)
    return code


def time_variant(variant, model, tokenizer, conversations, params, reference, rate) -> dict:
    """The batched engine with eager attention, a compiled static cache or another batch size,
    against ``reference``."""
    from transformers import CompileConfig

    from ilr.engines import generation

    before, generate = model.config._attn_implementation, model.generate
    if variant.startswith("batch") and variant[5:].isdigit():
        params = params.model_copy(update={"batch_size": int(variant[5:])})
    elif variant == "eager":
        model.set_attn_implementation("eager")
    elif variant.startswith("continuous"):
        return time_continuous(variant, model, tokenizer, conversations, params, reference, rate)
    elif variant == "static":
        config = CompileConfig(fullgraph=True, dynamic=False)
        config._compile_all_devices = True  # transformers compiles on a CPU only when asked
        model.generate = lambda **kw: generate(**kw, cache_implementation="static",
                                               compile_config=config)
    else:
        raise SystemExit(f"--variants: unknown {variant!r}; choose eager, static, batch<N> or "
                         "continuous[<N>]")
    start = time.perf_counter()
    got = generation.generate_transformers(model, tokenizer, conversations, params=params)
    seconds = time.perf_counter() - start
    model.set_attn_implementation(before)
    model.generate = generate
    return variant_figures(f"transformers ({variant})", variant, got, seconds, reference, rate)


def variant_figures(engine, variant, got, seconds, reference, rate) -> dict:
    """Prints and returns a variant's tokens/s, its ratio to ``rate`` and how many of its
    answers equal ``reference``'s."""
    tokens = sum(r["n_tokens"] for r in got)
    same = sum(g == w for g, w in zip(got, reference))
    print(f"{variant}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.1f} tokens/s, "
          f"ratio {tokens / seconds / rate:.2f}x; greedy answers equal to the default's: "
          f"{same}/{len(reference)}")
    return {"engine": engine, "tokens": tokens, "seconds": seconds,
            "tokens_per_s": tokens / seconds, "greedy_equal": same, "of": len(reference)}


def time_continuous(variant, model, tokenizer, conversations, params, reference, rate) -> dict:
    """transformers' continuous batching (``model.generate_batch``: a paged KV cache, requests
    join and leave the batch as they start and finish), at most ``<N>`` requests a step
    (``continuous64``; bare ``continuous``: transformers' choice), greedy, manager start
    included."""
    from transformers import ContinuousBatchingConfig, GenerationConfig

    from ilr.engines.prompts import response_record

    limit = int(variant[10:]) if variant[10:].isdigit() else None
    ids = tokenizer(render_prompts(tokenizer, conversations), add_special_tokens=False)["input_ids"]
    config = GenerationConfig(max_new_tokens=params.max_new_tokens, do_sample=False,
                              eos_token_id=tokenizer.eos_token_id,
                              pad_token_id=tokenizer.pad_token_id)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate_batch(ids, generation_config=config, continuous_batching_config=(
            ContinuousBatchingConfig(max_requests_per_batch=limit)))
    seconds = time.perf_counter() - start
    got = [response_record(tokenizer, out[f"req_{i}"].generated_tokens) for i in range(len(ids))]
    return variant_figures(f"transformers continuous batching ({variant})", variant, got,
                           seconds, reference, rate)


def compare_vllm(args, tokenizer, conversations, params, batched, batched_rate, figures):
    """vLLM on the same prompts: greedy answers must equal the transformers engine's."""
    import vllm

    from ilr.engines.vllm_backend import engine_kwargs

    start = time.perf_counter()
    got = generate_responses(args.model, tokenizer, conversations, params=params,
                             backend="vllm", dtype=args.dtype)
    cold_s = time.perf_counter() - start
    tokens = sum(r["n_tokens"] for r in got)
    same = sum(g == w for g, w in zip(got, batched))
    llm = vllm.LLM(**engine_kwargs(args.model, dtype=args.dtype, seed=0))
    requests = [{"prompt_token_ids": ids} for ids in tokenizer(
        render_prompts(tokenizer, conversations), add_special_tokens=False)["input_ids"]]
    greedy = vllm.SamplingParams(temperature=0.0, max_tokens=args.max_new_tokens,
                                 stop_token_ids=[tokenizer.eos_token_id], detokenize=False)
    llm.generate(requests[:2], greedy, use_tqdm=False)  # warm-up
    start = time.perf_counter()
    warm = llm.generate(requests, greedy, use_tqdm=False)
    warm_s = time.perf_counter() - start
    warm_tokens = sum(len(o.outputs[0].token_ids) for o in warm)
    v = tokens / cold_s
    print(f"vLLM {vllm.__version__} (with engine start): {tokens} tokens in {cold_s:.1f} s = "
          f"{v:.1f} tokens/s, ratio {v / batched_rate:.2f}x")
    print(f"vLLM warm engine: {warm_tokens} tokens in {warm_s:.1f} s = {warm_tokens / warm_s:.1f} "
          f"tokens/s, ratio {warm_tokens / warm_s / batched_rate:.2f}x")
    print(f"greedy answers equal to the transformers engine's: {same}/{len(batched)}")
    figures["engines"] += [
        {"engine": f"vllm {vllm.__version__} (with engine start)", "tokens": tokens,
         "seconds": cold_s, "tokens_per_s": v, "greedy_equal": same, "of": len(batched)},
        {"engine": f"vllm {vllm.__version__} (warm engine)", "tokens": warm_tokens,
         "seconds": warm_s, "tokens_per_s": warm_tokens / warm_s}]
    for g, w in zip(got, batched):
        if g != w:
            print(f"  differs: transformers {w!r}\n           vllm         {g!r}")
    return 0 if same == len(batched) else 1


if __name__ == "__main__":
    raise SystemExit(main())
