"""XBridge, "Language on Demand, Knowledge at Core" (shared/papers/xbridge-language-on-demand.txt).

    x (any language) -> frozen NMT encoder -> H_x                                      (3.1)
    H_x -> encoder mapping -> LLM input: [prompt start, mapped H_x, end boundary, rest of the
        prompt, English answer]; the frozen LLM answers in English                   (3.1)
    the LLM's penultimate-layer states over its answer -> decoder mapping -> memory M   (3.1)
    M -> the NMT decoder's cross-attention -> y in any of the NMT model's languages,
        its language token forced first                                               (3.1)
    loss = w_llm L_llm + w_dec L_dec + w_ot OT(NMT-encoder(English answer), M),
        the terms each stage counts (config.STAGES)                                  (3.2-3.3)

The memory holds the states that predict the answer's tokens: the last prompt position and
every answer token but the last, one per answer token, the same in training (teacher-forced
on the reference) and in generation (teacher-forced on the LLM's own answer, one extra pass
after generate: the public code collects them during generate instead; a second pass keeps
one code path for both and works with beam search too).

The LLM and the NMT model stay frozen but for the NMT decoder's cross-attention, trained in
stages 1 and 3; it is part of this bridge's checkpoint (trainable_named_parameters).
"""

from __future__ import annotations

from typing import Sequence

import torch

from ...backbones import FrozenDecoder, FrozenEncoder
from ...backbones.nmt import FrozenNMT
from ...errors import BabelBridgeError, InputError
from ...languages import get_language, normalize_language
from ...padding import right_pad
from ..base import BACKBONE_PREFIXES, Bridge, TranslationPair
from ..generation import decode_config, until_stop
from .config import SOURCE, XBridgeConfig
from .layers import EncoderMapping, Mapping
from .ot import ot_loss

ENGLISH = "eng_Latn"  # the LLM's core language: every LLM answer is English


class XBridgeBridge(Bridge):
    method = "xbridge"
    config_class = XBridgeConfig

    def __init__(self, encoder: FrozenEncoder, decoder: FrozenDecoder, config: XBridgeConfig):
        super().__init__(encoder, decoder, config)
        if config.decoder_side and not isinstance(encoder, FrozenNMT):
            raise BabelBridgeError(
                f"XBridge's decoder side needs a translation model with both halves (NLLB-200, M2M100) as the "
                f"encoder; {encoder.spec} was loaded as an encoder only. Give an NMT model, or set "
                f"decoder_side: false for the encoder side alone")
        d_enc, d_llm, eps = encoder.hidden_size, decoder.hidden_size, config.rms_norm_eps
        public = config.mapping_widths == "public"
        self.encoder_mapping = EncoderMapping(d_enc, 4 * d_enc if public else d_llm, d_llm, eps)
        self.decoder_mapping = Mapping(d_llm, 2 * d_llm if public else d_llm, d_enc, config.decoder_mapping_blocks,
                                       eps) if config.decoder_side else None
        # The stage decides what trains; the rest of the bridge is held fixed (and still saved).
        groups = config.trained_groups()
        self.encoder_mapping.requires_grad_("encoder_mapping" in groups)
        if config.decoder_side:
            self.decoder_mapping.requires_grad_("decoder_mapping" in groups)
            for _, param in encoder.cross_attention_parameters():
                param.requires_grad_("cross_attention" in groups)
        self._prompt: tuple[list[int], list[int]] | None = None

    # ---- the bridge's own parameters ------------------------------------------------------------
    def trainable_named_parameters(self):
        """The mappings and the boundary, and with a decoder side the NMT decoder's cross-attention."""
        own = [(n, p) for n, p in self.named_parameters() if not n.startswith(BACKBONE_PREFIXES)]
        if self.config.decoder_side:
            own += [(n, p) for n, p in self.encoder.named_parameters(prefix="encoder") if ".encoder_attn." in n]
        return own

    @classmethod
    def needs_nmt_decoder(cls, config: dict) -> bool:
        return XBridgeConfig.from_dict(config or {}).decoder_side

    def loss_weight(self, batch: dict[str, torch.Tensor]) -> int:
        if "llm" in self.config.active_losses():
            return int((batch["answer_ids"] != -100).sum())
        return int((batch["decoder_labels"] != -100).sum())

    def target_token_count(self, text: str) -> int:
        """The LLM's English answer (trilingual pairs' decoder targets are cut at max_decoder_tokens)."""
        return len(self.decoder.target_ids(text))

    # ---- the LLM's input ------------------------------------------------------------------------
    def prompt_parts(self) -> tuple[list[int], list[int]]:
        """The prompt's ids before and after {source} (the LLM always answers in English)."""
        if self._prompt is None:
            lang = get_language(ENGLISH)
            instruction = self.config.instruction.format(tgt_name=lang.name, tgt_code=lang.code, source=SOURCE)
            self._prompt = self.decoder.prompt_around(instruction, SOURCE, self.config.system_prompt)
        return self._prompt

    def map_source(self, source_ids: torch.Tensor, source_mask: torch.Tensor) -> torch.Tensor:
        """The NMT encoder's states through the encoder mapping: (B, S, d_llm), right-padded."""
        device = next(self.encoder.parameters()).device
        states = self.encoder(source_ids.to(device), source_mask.to(device))
        return self.encoder_mapping(states.to(self.encoder_mapping.end_boundary.dtype))  # the mapping's fp32

    def llm_inputs(self, mapped: torch.Tensor, source_mask: torch.Tensor, answers: list[list[int]], *,
                   left: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each row [prompt start, its own mapped states, end boundary, prompt rest, answer],
        contiguous whatever its source's length, then padded (left for generation, right for
        training): (inputs_embeds, attention_mask, labels: the answer's ids, -100 elsewhere)."""
        before, after = self.prompt_parts()
        embed = self.decoder.embed
        device = self.decoder.model.get_input_embeddings().weight.device
        head = embed(torch.tensor(before, device=device))
        boundary = self.encoder_mapping.end_boundary.to(head.dtype)[None]
        rows, labels = [], []
        for i, answer in enumerate(answers):
            n = int(source_mask[i].sum())
            tail = embed(torch.tensor(after + answer, dtype=torch.long, device=device))
            rows.append(torch.cat([head, mapped[i, :n].to(device=device, dtype=head.dtype), boundary, tail]))
            labels.append([-100] * (len(rows[-1]) - len(answer)) + answer)
        length = max(len(r) for r in rows)
        pad = embed(torch.tensor([self.decoder.pad_token_id], device=device))
        embeds, mask = [], torch.zeros(len(rows), length, dtype=torch.long, device=device)
        for i, row in enumerate(rows):
            fill = pad.expand(length - len(row), -1)
            embeds.append(torch.cat([fill, row] if left else [row, fill]))
            if left:
                mask[i, length - len(row):] = 1
            else:
                mask[i, : len(row)] = 1
        label_rows = [([-100] * (length - len(r)) + r) if left else (r + [-100] * (length - len(r))) for r in labels]
        return torch.stack(embeds), mask, torch.tensor(label_rows, device=device)

    def memory(self, states: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder's memory: the mapped LLM states at the positions that predict each answer
        token (one before each labelled position), right-padded, with its mask."""
        rows = [(labels[i, 1:] != -100).nonzero().flatten() for i in range(len(labels))]  # position t-1 predicts t
        length = max(len(r) for r in rows)
        picked = states.new_zeros(len(rows), length, states.shape[-1])
        mask = torch.zeros(len(rows), length, dtype=torch.long, device=states.device)
        for i, positions in enumerate(rows):
            picked[i, : len(positions)] = states[i, positions.to(states.device)]
            mask[i, : len(positions)] = 1
        return self.decoder_mapping(picked.float()), mask

    # ---- training -------------------------------------------------------------------------------
    def sides(self, pair: TranslationPair) -> tuple[str, tuple[str, str]]:
        """What a pair trains: the LLM's English answer, and the NMT decoder's target (text, language).

        x-en-y triples (pair.pivot, the English) train x -> English -> y; a pair into English
        trains x -> English -> x (the decoder writes the source back from the LLM's English);
        a pair out of English trains English -> English -> y."""
        if pair.pivot is not None:
            if pair.pivot_lang not in (None, ENGLISH):
                raise InputError(f"XBridge's pivot is the LLM's English; this triple's pivot is {pair.pivot_lang} "
                                 f"(read the corpus with pivot_lang: {ENGLISH})")
            return pair.pivot, (pair.tgt, pair.tgt_lang)
        if pair.tgt_lang == ENGLISH:
            return pair.tgt, (pair.src, pair.src_lang)
        if pair.src_lang == ENGLISH:
            return pair.src, (pair.tgt, pair.tgt_lang)
        raise InputError(f"XBridge trains on pairs into or out of English, or on x-en-y triples (a pivot); got a "
                         f"{pair.src_lang} -> {pair.tgt_lang} pair without its English")

    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        cfg = self.config
        sides = [self.sides(p) for p in pairs]
        source = self.encoder.tokenize([p.src for p in pairs], [p.src_lang for p in pairs],
                                       max_length=cfg.max_source_tokens, truncate=True)
        answers = [self.decoder.target_ids(english)[: cfg.max_target_tokens] for english, _ in sides]
        batch = {"source_ids": source["input_ids"], "source_mask": source["attention_mask"],
                 "answer_ids": right_pad(answers, -100)[0]}
        if cfg.decoder_side:
            english = self.encoder.tokenize([e for e, _ in sides], [ENGLISH] * len(sides),
                                            max_length=cfg.max_source_tokens, truncate=True)
            batch.update(english_ids=english["input_ids"], english_mask=english["attention_mask"],
                         decoder_labels=self.encoder.target_batch([t for _, (t, _) in sides],
                                                                  [lang for _, (_, lang) in sides],
                                                                  cfg.max_decoder_tokens))
        return batch

    def loss_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The unweighted loss terms this stage counts: llm, decoder, ot."""
        cfg = self.config
        active = cfg.active_losses()
        answers = [row[row != -100].tolist() for row in batch["answer_ids"]]
        embeds, mask, labels = self.llm_inputs(self.map_source(batch["source_ids"], batch["source_mask"]),
                                               batch["source_mask"], answers, left=False)
        terms = {}
        if not {"decoder", "ot"} & set(active):
            terms["llm"] = self.decoder.answer_loss(None, mask, labels, inputs_embeds=embeds)
            return terms
        llm_loss, states = self.decoder.answer_loss_and_states(None, mask, labels, inputs_embeds=embeds,
                                                               layer=cfg.llm_hidden_layer)
        if "llm" in active:
            terms["llm"] = llm_loss
        memory, memory_mask = self.memory(states, labels)
        if "decoder" in active:
            terms["decoder"] = self.encoder.decode_loss(memory, memory_mask, batch["decoder_labels"])
        if "ot" in active:
            with torch.no_grad():  # the NMT encoder's reading of the same English: the fixed side
                english = self.encoder(batch["english_ids"].to(memory.device), batch["english_mask"].to(memory.device))
            terms["ot"] = ot_loss(cfg.ot_form, english.float(), batch["english_mask"].to(memory.device), memory,
                                  memory_mask, **self._ot_options())
        return terms

    def _ot_options(self) -> dict:
        cfg = self.config
        if cfg.ot_form == "sinkhorn":
            return {"epsilon": cfg.ot_epsilon, "iterations": cfg.ot_iterations, "mass": cfg.ot_mass}
        return {}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        weights = self.config.active_losses()
        terms = self.loss_terms(batch)
        return sum(weights[name] * value for name, value in terms.items())

    @torch.no_grad()
    def validation_metrics(self, pairs: Sequence[TranslationPair], batch_size: int) -> dict[str, float]:
        """Each counted term apart (token- or pair-weighted like the loss), e.g. val_ot."""
        was_training = self.training
        self.eval()
        try:
            sums: dict[str, float] = {}
            weight = 0
            for start in range(0, len(pairs), batch_size):
                batch = self.collate(pairs[start : start + batch_size])
                n = self.loss_weight(batch)
                for name, value in self.loss_terms(batch).items():
                    sums[name] = sums.get(name, 0.0) + value.item() * n
                weight += n
            return {f"val_{name}": total / weight for name, total in sums.items()} if len(sums) > 1 else {}
        finally:
            self.train(was_training)

    # ---- generation ------------------------------------------------------------------------------
    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, **generation) -> list[str]:
        return self.generate_multi(texts, src_lang, [tgt_lang], **generation)[tgt_lang]

    @torch.no_grad()
    def generate_multi(self, texts: list[str], src_lang: str, tgt_langs: Sequence[str], *, num_beams: int = 1,
                       max_new_tokens: int = 128, min_new_tokens: int = 0,
                       truncate: bool = False) -> dict[str, list[str]]:
        """One LLM pass per source, decoded into every language of tgt_langs: English is the
        LLM's own answer, any other the NMT decoder's reading of it."""
        others = [lang for lang in tgt_langs if lang != ENGLISH]
        if others and not self.config.decoder_side:
            raise InputError(f"this XBridge bridge has no decoder side (decoder_side: false): it translates into "
                             f"English only, not {', '.join(others)}")
        cfg = self.config
        generation = decode_config(self.decoder, max_new_tokens=max_new_tokens, num_beams=num_beams,
                                   min_new_tokens=min_new_tokens)
        source = self.encoder.tokenize(texts, [src_lang] * len(texts), max_length=cfg.max_source_tokens,
                                       truncate=truncate)
        was_training = self.training
        self.eval()
        try:
            mapped = self.map_source(source["input_ids"], source["attention_mask"])
            embeds, mask, _ = self.llm_inputs(mapped, source["attention_mask"], [[]] * len(texts), left=True)
            out = self.decoder.model.generate(inputs_embeds=embeds, attention_mask=mask, generation_config=generation)
            english = [until_stop(row, self.decoder.stop_token_ids) for row in out.tolist()]
            results = {}
            if ENGLISH in tgt_langs:
                results[ENGLISH] = [t.strip() for t in self.decoder.tokenizer.batch_decode(english,
                                                                                           skip_special_tokens=True)]
            if others:
                # A teacher-forced pass over the LLM's own answer gives the states the memory needs.
                embeds, mask, labels = self.llm_inputs(mapped, source["attention_mask"], english, left=False)
                states = self.decoder.hidden_states_at(cfg.llm_hidden_layer, mask, inputs_embeds=embeds)
                memory, memory_mask = self.memory(states, labels)
                for lang in others:
                    rows = self.encoder.generate(memory, memory_mask, lang, num_beams=num_beams,
                                                 max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens)
                    results[lang] = self.encoder.decode_text(rows)
        finally:
            self.train(was_training)
        return results

    @torch.no_grad()
    def translate_multi(self, texts: Sequence[str], src_lang: str, tgt_langs: Sequence[str], *,
                        batch_size: int = 16, aux_texts: Sequence[str] | None = None, aux_lang: str | None = None,
                        **generation) -> dict[str, list[str]]:
        """translate() into several languages from one LLM pass per source: {language: outputs}."""
        self.refuse_pmp(aux_texts, aux_lang)  # the source enters through the encoder, not the prompt
        src_lang = normalize_language(src_lang)
        langs = list(dict.fromkeys(normalize_language(lang) for lang in tgt_langs))
        if not langs:
            raise InputError("tgt_langs is empty: give at least one target language")

        def run(batch: list[str]) -> list[dict[str, str]]:
            out = self.generate_multi(batch, src_lang, langs, **generation)
            return [{lang: out[lang][i] for lang in langs} for i in range(len(batch))]

        rows = self.in_sorted_batches(texts, batch_size, run)
        return {lang: [row[lang] for row in rows] for lang in langs}
