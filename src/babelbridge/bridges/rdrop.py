"""R-Drop (Liang et al., 2021), as CrossLoRA's paper uses it (section 3.4, eq. 7-9): the same batch
through the network twice, each pass with its own dropout masks, and the two predicted
distributions pulled together.

    L_nll = mean NLL of both passes                                   eq. 8
    L_kl  = (KL(P1 || P2) + KL(P2 || P1)) / 2, averaged               eq. 7
    L     = L_nll + alpha * L_kl                                      eq. 9

The paper averages both terms over the M sequences (1 / 2M each); here both are averaged over
the answer tokens instead, as every answer loss of this harness is, so the trainer's token
weighting of micro-batches holds and the two terms keep the paper's ratio. A sequence's KL
under teacher forcing is the sum of its tokens' KLs, so this is eq. 7 with tokens for sequences.

Any bridge that gives its answer-token logits (Bridge.answer_logits) trains with it through
`train.rdrop_alpha`; Bridge.rdrop_loss runs the two passes as one forward over the batch stacked
on itself (rows i and B + i are the two passes of pair i: independent dropout masks, one
forward call for DDP to hook).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def rdrop_loss(logits_1: torch.Tensor, logits_2: torch.Tensor, labels: torch.Tensor, alpha: float) -> torch.Tensor:
    """eq. 9 from the two passes' logits (..., V) and the shared labels (...; -100: not scored)."""
    scored = labels != -100
    first, second, target = logits_1[scored].float(), logits_2[scored].float(), labels[scored]
    nll = (F.cross_entropy(first, target) + F.cross_entropy(second, target)) / 2  # eq. 8
    if not alpha:
        return nll
    log_p1, log_p2 = F.log_softmax(first, dim=-1), F.log_softmax(second, dim=-1)
    # KL(P || Q) per token = sum_v P (log P - log Q); kl_div(input=log Q, target=log P, log_target=True)
    kl_12 = F.kl_div(log_p2, log_p1, reduction="none", log_target=True).sum(-1)
    kl_21 = F.kl_div(log_p1, log_p2, reduction="none", log_target=True).sum(-1)
    kl = ((kl_12 + kl_21) / 2).mean()  # eq. 7
    return nll + alpha * kl
