"""Frozen decoder-only LLMs: any transformers causal LM (Qwen3, Qwen2, Llama, Gemma, ...),
from the hub, a local directory or a GGUF file.

A FrozenDecoder knows how to turn an instruction into prompt ids (inside the chat template
when the model has one), which tokens end a turn, and where its decoder layers are, which
is where bridges attach.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from ..padding import right_pad
from .frozen import count_parameters, fingerprint, freeze, parse_dtype
from .spec import BackboneSpec


class FrozenDecoder(nn.Module):
    def __init__(self, model: nn.Module, tokenizer, spec: BackboneSpec):
        super().__init__()
        self.model = freeze(model)
        self.tokenizer = tokenizer
        self.spec = spec
        config = model.config
        self.hidden_size = config.hidden_size
        self.layers = _decoder_layers(model)
        self.num_layers = len(self.layers)
        self.eos_token_id = tokenizer.eos_token_id
        # Generation stops at any of these: the tokenizer's end of turn and the model's eos.
        ids = {tokenizer.eos_token_id}
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        ids.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
        self.stop_token_ids = sorted(i for i in ids if i is not None)
        # Llama-family tokenizers have no pad token; the pad is masked out, so eos serves.
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_id
        # With gradient checkpointing: callables a bridge adds, each returning a context manager
        # that re-applies the state it saw when called (see _checkpoint_contexts).
        self.recompute_state: list = []

    def prompt_ids(self, instruction: str, system_prompt: str | None = None) -> list[int]:
        """The instruction as a user turn, ending where the assistant's answer starts.

        system_prompt: None keeps the chat template's default system turn (SmolLM2's adds a
        20-token one); a string replaces it ("" for an empty one: shorter prompts train faster).
        """
        tok = self.tokenizer
        if tok.chat_template:
            messages = [{"role": "user", "content": instruction}]
            if system_prompt is not None:
                messages.insert(0, {"role": "system", "content": system_prompt})
            # enable_thinking=False: Qwen3's template then opens an empty <think></think>
            # block, so the answer starts at once; other templates ignore the variable.
            text = tok.apply_chat_template(
                messages,
                tokenize=False, add_generation_prompt=True, enable_thinking=False,
            )
            return tok(text, add_special_tokens=False)["input_ids"]
        return tok(instruction + "\n", add_special_tokens=True)["input_ids"]

    def prompt_around(self, instruction: str, slot: str, system_prompt: str | None = None) -> tuple[list[int], list[int]]:
        """The prompt of `instruction` split where `slot` stands in it: the ids before and after.

        For bridges that put something other than text there (LLINK's soft slots, a sentence
        with a marker after it): the chat template is rendered once around the slot, and each
        side is tokenised on its own, so the ids on either side never depend on what fills it."""
        if instruction.count(slot) != 1:
            raise ValueError(f"the instruction {instruction!r} must hold {slot!r} exactly once")
        sentinel = "\u2063\u2063slot\u2063\u2063"  # invisible separators: no template or text contains them
        tok = self.tokenizer
        if tok.chat_template:
            messages = [{"role": "user", "content": instruction.replace(slot, sentinel)}]
            if system_prompt is not None:
                messages.insert(0, {"role": "system", "content": system_prompt})
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                           enable_thinking=False)
            before, after = text.split(sentinel)
            return (tok(before, add_special_tokens=False)["input_ids"],
                    tok(after, add_special_tokens=False)["input_ids"])
        before, after = (instruction + "\n").split(slot)
        return tok(before, add_special_tokens=True)["input_ids"], tok(after, add_special_tokens=False)["input_ids"]

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The frozen input embeddings of these ids (bridges edit the copy, never the matrix)."""
        embeddings = self.model.get_input_embeddings()
        return embeddings(input_ids.to(embeddings.weight.device))

    def last_hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                           inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """The last layer's output after the final norm, every position (no LM head)."""
        device = self.model.device
        inputs = {"inputs_embeds": inputs_embeds.to(device)} if inputs_embeds is not None else \
            {"input_ids": input_ids.to(device)}
        return self.model.get_decoder()(**inputs, attention_mask=attention_mask.to(device),
                                        use_cache=False).last_hidden_state

    def hidden_states_at(self, layer: int, attention_mask: torch.Tensor, *, input_ids: torch.Tensor | None = None,
                         inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """Every position's hidden state at `layer` of transformers' hidden_states (-1: after the
        final norm, -2: the penultimate layer's output), without the LM head."""
        device = self.model.device
        inputs = {"inputs_embeds": inputs_embeds.to(device)} if inputs_embeds is not None else \
            {"input_ids": input_ids.to(device)}
        out = self.model.get_decoder()(**inputs, attention_mask=attention_mask.to(device), use_cache=False,
                                       output_hidden_states=True)
        return out.hidden_states[layer]

    def target_ids(self, text: str) -> list[int]:
        """The answer's tokens followed by the end-of-turn token the model must learn to emit."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.eos_token_id]

    def answer_batch(self, prompts: list[list[int]], answers: list[str],
                     max_answer_tokens: int) -> dict[str, torch.Tensor]:
        """Training rows prompt + answer (+ end of turn), right-padded, with labels on the answer
        only (-100 elsewhere): what answer_loss scores. Answers longer than max_answer_tokens are cut."""
        rows, labels = [], []
        for prompt, answer in zip(prompts, answers, strict=True):
            target = self.target_ids(answer)[:max_answer_tokens]
            rows.append(prompt + target)
            labels.append([-100] * len(prompt) + target)
        input_ids, attention_mask = right_pad(rows, self.pad_token_id)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": right_pad(labels, -100)[0]}

    def enable_gradient_checkpointing(self) -> None:
        """Store only each decoder layer's input in the forward pass and recompute the layer in
        backward: activation memory of one layer instead of all, for ~one more forward of compute.

        Hand-written rather than transformers' gradient_checkpointing_enable, which is wrong for
        frozen backbones twice over: it checkpoints only layers in training mode, and bridges
        keep the frozen LLM in eval (no dropout), so it does nothing; and in 5.17 it checkpoints
        each layer's __call__, forward hooks included, so backward reruns HCA's fusion after
        loss() has detached the source memory (torch: "A different number of tensors was saved
        during the original forward and recomputation"; 5.24 moved hooks outside). Wrapping the
        instance's forward keeps hooks outside the recomputation on every version. Only where
        gradients are recorded: validation and generation run as before, KV cache included."""
        from torch.utils.checkpoint import checkpoint

        for layer in self.layers:
            if "forward" in vars(layer):  # already wrapped
                continue

            def forward(*args, _forward=layer.forward, **kwargs):
                if not torch.is_grad_enabled():
                    return _forward(*args, **kwargs)
                # Non-reentrant: gradients reach the weights inside (LoRA's) even though the
                # frozen layer's input needs none; the RNG state is replayed, so dropout matches.
                return checkpoint(_forward, *args, use_reentrant=False, context_fn=self._checkpoint_contexts,
                                  **kwargs)

            layer.forward = forward

    def _checkpoint_contexts(self):
        """torch.utils.checkpoint's context_fn: called when a layer first runs; the second context
        is entered while backward recomputes it. It re-enters what each recompute_state capture
        saw at the first run: state a bridge sets for one call (CrossLoRA's per-row experts) is
        gone by the time backward runs."""
        captured = [capture() for capture in self.recompute_state]

        @contextlib.contextmanager
        def replay():
            with contextlib.ExitStack() as stack:
                for context in captured:
                    stack.enter_context(context)
                yield

        return contextlib.nullcontext(), replay()

    def answer_loss(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    labels: torch.Tensor, inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """Mean next-token cross-entropy over the labelled tokens (-100: not scored), as
        transformers computes it from `labels=`, but with the LM head applied only from the
        batch's first labelled position on. Given labels, transformers projects every position
        onto the vocabulary and upcasts those logits to fp32, prompt included; the prompt is
        long when it holds the source (the LoRA baseline) and the vocabulary large in Qwen3
        (152k). On SmolLM2 (49k) a CPU step was 3-8% faster in one run (benchmarks/loss_head.py).

        inputs_embeds: the input as vectors (a bridge that writes into the LLM's input, e.g.
        LLINK's soft slots); input_ids are then not read (None will do)."""
        return self._answer_forward(input_ids, attention_mask, labels, inputs_embeds)[0]

    def answer_loss_and_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
                               inputs_embeds: torch.Tensor | None = None,
                               layer: int = -2) -> tuple[torch.Tensor, torch.Tensor]:
        """answer_loss and, from the same forward pass, the hidden states of every position at
        `layer` of transformers' hidden_states (-1: after the final norm, -2: the penultimate
        layer's output): what XBridge's decoder side reads."""
        return self._answer_forward(input_ids, attention_mask, labels, inputs_embeds, layer)

    def answer_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
                      inputs_embeds: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """What answer_loss scores, before the cross-entropy: the fp32 logits (B, L', V) that predict
        the positions from the batch's first labelled one on, and those positions' labels (B, L';
        -100: not scored). R-Drop compares two passes' distributions on exactly these tokens."""
        logits, labels, _ = self._answer_logits(input_ids, attention_mask, labels, inputs_embeds)
        return logits, labels

    def _answer_logits(self, input_ids, attention_mask, labels, inputs_embeds=None, layer: int | None = None):
        device = self.model.device
        attention_mask, labels = attention_mask.to(device), labels.to(device)
        scored = (labels != -100).any(dim=0).nonzero()
        first = max(int(scored[0]) if len(scored) else 1, 1)  # position 0 is never predicted
        inputs = {"inputs_embeds": inputs_embeds.to(device)} if inputs_embeds is not None else \
            {"input_ids": input_ids.to(device)}
        # logits at positions first-1 .. L-1; the last one predicts past the end: dropped
        out = self.model(**inputs, attention_mask=attention_mask, use_cache=False,
                         logits_to_keep=attention_mask.shape[1] - first + 1, output_hidden_states=layer is not None)
        return out.logits[:, :-1].float(), labels[:, first:], out

    def _answer_forward(self, input_ids, attention_mask, labels, inputs_embeds=None, layer: int | None = None):
        logits, labels, out = self._answer_logits(input_ids, attention_mask, labels, inputs_embeds, layer)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                           ignore_index=-100)
        return loss, (out.hidden_states[layer] if layer is not None else None)

    def identity(self) -> dict:
        return {
            "spec": str(self.spec),
            "model_type": self.model.config.model_type,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "fingerprint": fingerprint(self.model.config, self.tokenizer),
            "parameters": count_parameters(self.model),
        }


def _decoder_layers(model: nn.Module) -> nn.ModuleList:
    base = model.get_decoder() if hasattr(model, "get_decoder") else model
    for name in ("layers", "h", "blocks"):
        layers = getattr(base, name, None)
        if isinstance(layers, nn.ModuleList):
            return layers
    raise ValueError(f"cannot find the decoder layers of {type(model).__name__}")


def load_decoder(spec: str | BackboneSpec, *, dtype: str = "float32", device: str = "cpu",
                 gguf_file: str | None = None) -> FrozenDecoder:
    spec = spec if isinstance(spec, BackboneSpec) else BackboneSpec.parse(spec, gguf_file)
    torch_dtype = parse_dtype(dtype)
    if spec.kind == "tiny-random":
        from .tiny import tiny_decoder

        model, tokenizer = tiny_decoder(spec.name)
    elif spec.kind == "random" or device == "meta":
        # Architecture only: random weights (random:) or no weights at all (meta device).
        from transformers import AutoModelForCausalLM

        from .known_shapes import architecture_config
        from .tiny import CHAT_TEMPLATE, IM_END, IM_START, byte_tokenizer

        with torch.device(device):  # built where it runs: no CPU copy of a 7B model first
            model = AutoModelForCausalLM.from_config(architecture_config(spec))
        tokenizer = byte_tokenizer([IM_START, IM_END])
        tokenizer.eos_token, tokenizer.chat_template = IM_END, CHAT_TEMPLATE
    elif spec.kind in ("hub", "gguf", "pocket"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = spec.name
        if spec.kind == "pocket":
            from ..assets.pocket import pocket_dir

            source = pocket_dir(spec.name, "decoder")
        extra = {"gguf_file": spec.gguf_file} if spec.gguf_file else {}
        tokenizer = AutoTokenizer.from_pretrained(source, **extra)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, **extra)
    else:
        raise ValueError(f"unknown backbone kind {spec.kind!r}")
    if device != "meta":
        model = model.to(device=device, dtype=torch_dtype) if torch_dtype else model.to(device)
    return FrozenDecoder(model, tokenizer, spec)
