"""R-Drop (train.rdrop_alpha; bridges/rdrop.py): CrossLoRA's eq. 7-9 for any bridge that gives its
answer logits and has dropout: the loss by hand, the two passes, off is the plain loss, refusals."""

import math

import pytest
import torch
import torch.nn.functional as F

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import Bridge, TranslationPair, build_bridge
from babelbridge.bridges.rdrop import rdrop_loss
from babelbridge.errors import BabelBridgeError
from babelbridge.train import Trainer, TrainConfig

PAIRS = [
    TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn", "eng_Latn"),
    TranslationPair("Good morning, everyone.", "Доброе утро всем.", "eng_Latn", "rus_Cyrl"),
    TranslationPair("Der Hund schläft unter dem Tisch.", "Собака спит под столом.", "deu_Latn", "rus_Cyrl"),
    TranslationPair("The cat sleeps.", "Die Katze schläft.", "eng_Latn", "deu_Latn"),
]
LABELS = torch.tensor([[1, 4, -100], [0, 2, 3]])  # 5 scored tokens of 2 rows, vocabulary 5


def crosslora(**config):
    torch.manual_seed(0)
    bridge = build_bridge("crosslora", None, load_decoder("tiny-random:qwen3"),
                          {"r": 4, "languages": ["eng_Latn", "deu_Latn", "rus_Cyrl"], **config})
    with torch.no_grad():  # B off zero: the experts, and so their dropout, change the output
        for _, p in bridge.trainable_named_parameters():
            p.normal_(std=0.3)
    return bridge


def test_the_loss_is_eq_9_computed_by_hand():
    g = torch.Generator().manual_seed(0)
    logits_1, logits_2 = torch.randn(2, 3, 5, generator=g), torch.randn(2, 3, 5, generator=g)
    nll = kl = 0.0
    scored = [(row, t) for row in range(2) for t in range(3) if LABELS[row, t] != -100]
    for row, t in scored:
        p = torch.softmax(logits_1[row, t].double(), -1).tolist()
        q = torch.softmax(logits_2[row, t].double(), -1).tolist()
        y = int(LABELS[row, t])
        nll += (-math.log(p[y]) - math.log(q[y])) / 2  # eq. 8: both passes' NLL
        kl += (sum(a * math.log(a / b) for a, b in zip(p, q)) + sum(b * math.log(b / a) for a, b in zip(p, q))) / 2
    n = len(scored)
    torch.testing.assert_close(rdrop_loss(logits_1, logits_2, LABELS, 0.3).double(),
                               torch.tensor(nll / n + 0.3 * kl / n, dtype=torch.float64))  # eq. 9
    torch.testing.assert_close(rdrop_loss(logits_1, logits_2, LABELS, 0.0).double(),
                               torch.tensor(nll / n, dtype=torch.float64))
    # Two identical passes: no KL at all, and the NLL is exactly the plain cross-entropy.
    plain = F.cross_entropy(logits_1[LABELS != -100], LABELS[LABELS != -100])
    assert torch.equal(rdrop_loss(logits_1, logits_1, LABELS, 0.3), plain)


def test_two_passes_are_the_batch_stacked_on_itself_with_their_own_dropout():
    bridge = crosslora(dropout=0.3).train()
    batch = bridge.collate(PAIRS)
    torch.manual_seed(5)
    loss = bridge(batch, rdrop_alpha=0.5)
    torch.manual_seed(5)
    logits, labels = bridge.answer_logits({k: torch.cat([v, v]) for k, v in batch.items()})
    assert torch.equal(loss, rdrop_loss(logits[:4], logits[4:], labels[:4], 0.5))  # rows i and 4 + i
    assert loss > rdrop_loss(logits[:4], logits[4:], labels[:4], 0.0) + 1e-4  # the masks differ: KL > 0
    loss.backward()
    assert all(p.grad is not None for _, p in bridge.trainable_named_parameters())
    # Without dropout the two passes agree: R-Drop's loss is the plain loss.
    bridge.eval()
    with torch.no_grad():
        torch.testing.assert_close(bridge(batch, rdrop_alpha=0.5), bridge.loss(batch))
        assert torch.equal(bridge(batch), bridge.loss(batch))


def test_off_is_the_plain_loss_exactly(tmp_path, monkeypatch):
    """rdrop_alpha 0 (the default) calls the bridge as before: one pass, no option."""
    seen = []
    forward = Bridge.forward

    def recording(self, batch, **options):
        seen.append(options)
        return forward(self, batch, **options)

    monkeypatch.setattr(Bridge, "forward", recording)

    def run(name, **options):
        torch.manual_seed(0)
        bridge = build_bridge("lora", None, load_decoder("tiny-random:qwen3"), {"r": 4, "dropout": 0.1})
        Trainer(bridge, PAIRS, TrainConfig(output_dir=str(tmp_path / name), lr=1e-2, global_batch_size=4,
                                           micro_batch_size=2, max_steps=2, **options)).train()
        return {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}

    plain, zero = run("plain"), run("zero", rdrop_alpha=0.0)
    assert seen == [{}] * 8  # 2 runs x 2 steps x 2 micro-batches
    assert plain.keys() == zero.keys() and all(torch.equal(plain[n], zero[n]) for n in plain)
    seen.clear()
    with_rdrop = run("rdrop", rdrop_alpha=0.1)  # LoRA with dropout takes R-Drop too
    assert seen == [{"rdrop_alpha": 0.1}] * 4
    assert any(not torch.equal(plain[n], with_rdrop[n]) for n in plain)


def test_a_bridge_without_dropout_or_answer_logits_is_refused(tmp_path):
    def trainer(bridge, alpha=0.1):
        return Trainer(bridge, PAIRS, TrainConfig(output_dir=str(tmp_path / "run"), global_batch_size=4,
                                                  micro_batch_size=2, rdrop_alpha=alpha))

    message = (r"^train.rdrop_alpha 0.1: R-Drop compares two passes with different dropout masks, and this "
               r"crosslora bridge's trainable part has no dropout \(both passes would be identical\); give it a "
               r"dropout above 0 \(bridge.dropout for lora and crosslora\) or set train.rdrop_alpha to 0$")
    with pytest.raises(BabelBridgeError, match=message):
        trainer(crosslora(dropout=0.0))
    trainer(crosslora(dropout=0.0), alpha=0)  # off: nothing to refuse
    torch.manual_seed(0)
    hca = build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                       {"bottleneck_dim": 8})
    with pytest.raises(BabelBridgeError, match="this hca bridge's trainable part has no dropout"):
        trainer(hca)
    llink = build_bridge("llink", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                         {"stage": "align"})  # projector dropout 0.1, but its loss is no answer loss
    with pytest.raises(BabelBridgeError, match=r"^train.rdrop_alpha 0.1: R-Drop needs the answer tokens' logits "
                                               r"\(Bridge.answer_logits\), which llink bridges do not give$"):
        trainer(llink)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match=r"train.rdrop_alpha must be a number >= 0 \(0: no R-Drop\), got -0.1"):
        TrainConfig(rdrop_alpha=-0.1)
