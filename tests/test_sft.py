"""Padding-free and packed batches give the padded batch's training loss.

TRL's ``padding_free`` collator flattens a batch into one row with ``position_ids`` restarting at
0 for each sequence and no attention mask; ``packing`` (strategy ``bfd``) packs sequences into
rows the same way. Only flash-attention kernels take the sequence boundaries from the collator's
``cu_seq_lens``; for ``sdpa`` (transformers 5's default, the pipeline's attention on CPU) and
``eager``, transformers' masking_utils finds the packed sequences from the ``position_ids``
(``find_packed_sequence_indices``) and builds a block-diagonal causal mask. These tests check
that on the real path: the project's ``build_sft_trainer`` on a tiny random Llama, the trainer's
own collator and ``compute_loss``, on sequences of different lengths. A control shows the test
would see cross-sequence contamination: the same flattened batch with one position run (as if
the boundaries were ignored) gives a different loss.
"""
import pytest

torch = pytest.importorskip("torch")

from ilr.core.params import SftParams, TaskParams  # noqa: E402
from ilr.tasks.task import task_from_params  # noqa: E402
from ilr.train.sft import (build_sft_trainer, completion_nll, completion_window,  # noqa: E402
                           run_sft_trainer, train_sft)
from tiny import build_tiny_model  # noqa: E402

RECORDS = [{"id": f"q{i}", "prompt": f"What is {i} + {3 * i + 1}?" + " Think." * (i % 3),
            "response": f"{i} + {3 * i + 1} = {4 * i + 1}" + " ok" * (2 * i) + f"\n#### {4 * i + 1}"}
           for i in range(6)]
ARGS = {"per_device_train_batch_size": 6, "activation_checkpointing": False, "max_length": None}


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """The tiny Llama with its matrices drawn at std 0.2 (not 0.02): attention then matters,
    so that a sequence seeing another one shows in the loss (the control below)."""
    from transformers import AutoModelForCausalLM

    folder = tmp_path_factory.mktemp("sft") / "base"
    task = task_from_params(TaskParams())
    build_tiny_model(folder, [task.system_prompt] + [r["prompt"] + " " + r["response"]
                                                     for r in RECORDS])
    model = AutoModelForCausalLM.from_pretrained(folder)
    torch.manual_seed(1)
    for weight in model.parameters():
        if weight.dim() == 2:
            torch.nn.init.normal_(weight, std=0.2)
    model.save_pretrained(folder)
    return str(folder)


def batch_loss(base, tmp_path, attn: str | None, kernels: str = "library", **args):
    """The loss of one batch of all RECORDS as the trainer collates and computes it."""
    trainer, _ = build_sft_trainer(base, RECORDS, task=task_from_params(TaskParams()),
                                   sft=SftParams(args={**ARGS, **args}), workdir=str(tmp_path),
                                   seed=0, kernels=kernels)
    model = trainer.model
    if attn is not None:
        model.set_attn_implementation(attn)
    model.eval()
    examples = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    batch = trainer.data_collator(examples)
    with torch.no_grad():
        loss = trainer.compute_loss(model, batch)
    return float(loss), batch, trainer


def test_the_pipeline_loads_sdpa(tiny_base, tmp_path):
    """The attention the training stages get by default (what the other tests here check)."""
    _, _, trainer = batch_loss(tiny_base, tmp_path, None)
    assert trainer.model.config._attn_implementation == "sdpa"


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_padding_free_matches_padded(tiny_base, tmp_path, attn):
    padded, batch, _ = batch_loss(tiny_base, tmp_path / "padded", attn)
    lengths = batch["attention_mask"].sum(1).tolist()
    assert len(set(lengths)) > 2 and (batch["attention_mask"] == 0).any()  # padding to remove
    free, flat, _ = batch_loss(tiny_base, tmp_path / "free", attn, padding_free=True)
    assert flat["input_ids"].shape == (1, sum(lengths)) and "attention_mask" not in flat
    assert free == pytest.approx(padded, rel=1e-4)  # measured: bit-identical in float32


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packing_matches_padded(tiny_base, tmp_path, attn):
    padded, _, _ = batch_loss(tiny_base, tmp_path / "padded", attn)
    packed, _, trainer = batch_loss(tiny_base, tmp_path / "packed", attn, packing=True,
                                    max_length=1024)  # one bin, no sequence cut
    assert len(trainer.train_dataset) < len(RECORDS)
    assert packed == pytest.approx(padded, rel=1e-4)


def test_ignored_boundaries_would_change_the_loss(tiny_base, tmp_path):
    """The control: one causal run over the flattened batch (each sequence attending to the
    ones before it) is not the padded loss, so the equality above is not a coincidence."""
    padded, _, _ = batch_loss(tiny_base, tmp_path / "padded", "sdpa")
    _, flat, trainer = batch_loss(tiny_base, tmp_path / "free", "sdpa", padding_free=True)
    flat["position_ids"] = torch.arange(flat["input_ids"].shape[1])[None]
    with torch.no_grad():
        contaminated = float(trainer.compute_loss(trainer.model, flat))
    assert abs(contaminated - padded) > 1e-2 * padded  # measured: 2.5e-2


# model.train_kernels: the CPU path (eager attention while training, the model's own loss)

def test_cpu_path_loss_is_trls(tiny_base, tmp_path):
    """The CPU path's loss (the model's forward, logits over the completion window only) is the
    loss TRL's chunked log-prob head computes on the same collated batch, with the same
    accuracy."""
    trl_loss, batch, trl = batch_loss(tiny_base, tmp_path / "trl", None, kernels="library")
    cpu_loss, _, cpu = batch_loss(tiny_base, tmp_path / "cpu", None, kernels="auto")
    assert type(trl).__name__ == "SFTTrainer" and type(cpu).__name__ == "LogitsLossSFTTrainer"
    assert cpu_loss == pytest.approx(trl_loss, rel=1e-5)
    assert cpu._metrics["eval"]["mean_token_accuracy"] == pytest.approx(
        trl._metrics["eval"]["mean_token_accuracy"])
    assert cpu_loss > 0.1  # not an empty mask's zero


def test_completion_window_spans_every_rows_completion():
    """Logits at position p predict token p + 1: the window runs from the position before the
    earliest completion token of any row to the one before the latest, prompts and the
    padding after the longest completion left out."""
    labels = torch.full((3, 12), -100)
    labels[0, 5:8] = 1    # row 0: completion at 5..7
    labels[1, 3:6] = 1    # row 1: the earliest, at 3
    labels[2, 6:10] = 1   # row 2: the latest, up to 9; 10 and 11 are padding
    assert completion_window(labels).tolist() == list(range(2, 9))
    assert completion_window(torch.full((2, 4), -100)).tolist() == [0]  # nothing to score


def test_completion_nll_is_the_mean_or_the_trainers_token_count():
    logits = torch.randn(2, 3, 7)
    targets = torch.tensor([[1, -100, 2], [3, 4, -100]])
    picked = torch.log_softmax(logits, -1)[[0, 0, 1, 1], [0, 2, 0, 1], [1, 2, 3, 4]]
    assert float(completion_nll(logits, targets)) == pytest.approx(float(-picked.mean()))
    assert float(completion_nll(logits, targets, num_items_in_batch=8)) == pytest.approx(
        float(-picked.sum() / 8))


def test_cpu_path_computes_the_completion_windows_logits_with_trls_gradients(tiny_base,
                                                                           tmp_path):
    """The CPU path's logits cover the completion window only (fewer positions than the
    batch's rows), and one backward gives the weights the gradients TRL's loss gives them."""
    grads = {}
    for kernels in ("library", "auto"):
        _, batch, trainer = batch_loss(tiny_base, tmp_path / kernels, None, kernels=kernels)
        model = trainer.model
        model.zero_grad()
        loss, outputs = trainer.compute_loss(model, batch, return_outputs=True)
        loss.backward()
        grads[kernels] = {n: w.grad.clone() for n, w in model.named_parameters()}
    window = completion_window(batch["labels"])
    assert outputs.logits.shape[1] == len(window) < batch["input_ids"].shape[1]
    for name, grad in grads["library"].items():
        torch.testing.assert_close(grads["auto"][name], grad, rtol=1e-4, atol=1e-6, msg=name)
    assert any(g.abs().sum() > 0 for g in grads["auto"].values())


def test_cpu_path_padding_free_matches_padded(tiny_base, tmp_path):
    """The window works on a padding-free batch (one flattened row) as on a padded one."""
    padded, _, _ = batch_loss(tiny_base, tmp_path / "padded", "eager", kernels="auto")
    free, flat, _ = batch_loss(tiny_base, tmp_path / "free", "eager", kernels="auto",
                               padding_free=True)
    assert flat["input_ids"].shape[0] == 1
    assert free == pytest.approx(padded, rel=1e-4)


def test_cpu_path_trains_eager_and_saves_sdpa(tiny_base, tmp_path):
    """Training runs with eager attention on the CPU path; the trained model goes back to
    sdpa (generation's faster kernel), in memory and in the saved config. library: sdpa."""
    from transformers import TrainerCallback

    class Seen(TrainerCallback):
        def __init__(self):
            self.attn = set()

        def on_step_begin(self, args, state, control, model=None, **kwargs):
            self.attn.add(model.config._attn_implementation)

    for kernels, during in (("auto", {"eager"}), ("library", {"sdpa"})):
        seen = Seen()
        trainer, _ = build_sft_trainer(tiny_base, RECORDS, task=task_from_params(TaskParams()),
                                       sft=SftParams(args={**ARGS, "max_steps": 2}), seed=0,
                                       workdir=str(tmp_path / kernels), kernels=kernels)
        trainer.add_callback(seen)
        from ilr.train.checkpoints import training_attention
        with training_attention(trainer.model, kernels):
            trainer.train()
        assert seen.attn == during
        assert trainer.model.config._attn_implementation == "sdpa"
    out = tmp_path / "saved"
    log = train_sft(tiny_base, RECORDS, task=task_from_params(TaskParams()), seed=0,
                    sft=SftParams(args={**ARGS, "max_steps": 1}), out=str(out), kernels="auto",
                    save_dtype="float32")
    assert log["steps"] == 1 and "eager" not in (out / "config.json").read_text()


def test_train_kernels_refuses_an_unknown_value(tiny_base, tmp_path):
    with pytest.raises(ValueError, match="model.train_kernels: 'fast'.*auto or library"):
        run_sft_trainer(tiny_base, RECORDS, task=task_from_params(TaskParams()), seed=0,
                        sft=SftParams(args=ARGS), workdir=str(tmp_path), kernels="fast")
