"""The trainable pieces of LLINK and its two losses, each readable on its own.

    mean_pool                 z = masked mean of the encoder's token states     (paper 4.1)
    Projector                 p = LN(W2 Dropout(GELU(W1 z)))                    (paper 4.1, the public code)
    TeacherQueue              past teacher vectors: negatives for later steps    (paper 4.1)
    alignment_loss            symmetric InfoNCE + MSE + log-norm                 (stage A)
    SlotExpander              p -> K soft slots: unit norm -> LN -> scale (+ per-slot part)  (paper 4.2)
    usage_penalty             w * max(0, L_SFT - L_zero)                         (stage B, paper 4.2)

Weights are float32 whatever the backbones' dtype: inputs are cast to them, outputs back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """z: the mean of the real tokens' states; padding never counts. (B, S, d), (B, S) -> (B, d)"""
    mask = mask.to(states.dtype).unsqueeze(-1)
    return (states * mask).sum(1) / mask.sum(1).clamp_min(1)


class Projector(nn.Module):
    """The encoder's sentence vector into the LLM's hidden space (d_enc -> hidden -> d_llm)."""

    def __init__(self, encoder_dim: int, hidden_dim: int, decoder_dim: int, dropout: float):
        super().__init__()
        self.up = nn.Linear(encoder_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.down = nn.Linear(hidden_dim, decoder_dim)
        self.norm = nn.LayerNorm(decoder_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.norm(self.down(self.dropout(F.gelu(self.up(z.to(self.up.weight.dtype))))))


class TeacherQueue(nn.Module):
    """A ring buffer of unit teacher vectors and their sentences' keys (a hash of the English
    text): negatives from earlier steps. A key marks the same sentence seen again, which must
    never be a negative of itself. Training state, not a parameter: the trainer checkpoints it
    through Bridge.extra_state."""

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.size = size
        self.register_buffer("vectors", torch.zeros(size, dim), persistent=False)
        self.register_buffer("keys", torch.zeros(size, dtype=torch.long), persistent=False)
        self.pointer = 0  # where the next vector goes
        self.filled = 0

    def contents(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vectors[: self.filled], self.keys[: self.filled]

    @torch.no_grad()
    def push(self, vectors: torch.Tensor, keys: torch.Tensor) -> None:
        vectors = F.normalize(vectors.float(), dim=-1)[-self.size:]  # more than fits: the newest
        keys = keys[-self.size:]
        start = 0
        while start < len(vectors):  # at most two pieces: up to the end of the ring, then from 0
            n = min(len(vectors) - start, self.size - self.pointer)
            self.vectors[self.pointer : self.pointer + n] = vectors[start : start + n].to(self.vectors.device)
            self.keys[self.pointer : self.pointer + n] = keys[start : start + n].to(self.keys.device)
            self.pointer = (self.pointer + n) % self.size
            self.filled = min(self.size, self.filled + n)
            start += n

    def state(self) -> dict[str, torch.Tensor]:
        return {"vectors": self.vectors[: self.filled].clone(), "keys": self.keys[: self.filled].clone(),
                "pointer_filled": torch.tensor([self.pointer, self.filled])}

    def load(self, state: dict[str, torch.Tensor]) -> None:
        self.pointer, self.filled = (int(v) for v in state["pointer_filled"])
        self.vectors.zero_()
        self.keys.zero_()
        self.vectors[: self.filled] = state["vectors"].to(self.vectors)
        self.keys[: self.filled] = state["keys"].to(self.keys)


def temperature_at(step: int, total_steps: int, start: float, end: float) -> float:
    """tau annealed linearly from `start` at step 0 to `end` at the last step."""
    return start + (end - start) * min(1.0, step / max(1, total_steps - 1))


def alignment_loss(projected: torch.Tensor, teacher: torch.Tensor, keys: torch.Tensor, *, temperature: float,
                   queue_vectors: torch.Tensor | None = None, queue_keys: torch.Tensor | None = None,
                   hard_negatives: int = 0, mse_weight: float = 0.0,
                   log_norm_weight: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Stage A's loss for B pairs. projected p: (B, d) from the projector; teacher h: (B, d), the
    frozen LLM's state at the reserved position; keys: (B,) the English sentences' keys.

        p^ = p/|p|, h^ = h/|h|, s(a, b) = a.b / tau
        student -> teacher: row i scores h^_j for the batch, then its `hard_negatives` most similar
            queued teachers; the answer is h^_i. teacher -> student: row i scores p^_j of the batch.
        L = (CE_s->t + CE_t->s) / 2 + mse_weight * mean((p^ - h^)^2) + log_norm_weight * mean((log|p| - log|h|)^2)

    A teacher of the same sentence (equal key) is never a negative: in the batch (two source
    languages of one verse) or in the queue (the verse seen in an earlier step)."""
    p_unit, h_unit = F.normalize(projected.float(), dim=-1), F.normalize(teacher.float(), dim=-1)
    b = len(p_unit)
    same = keys[:, None] == keys[None, :]
    not_self = ~torch.eye(b, dtype=torch.bool, device=same.device)
    blocked = same & not_self  # the same sentence in another row: neither positive nor negative
    s2t = (p_unit @ h_unit.T / temperature).masked_fill(blocked, float("-inf"))
    if queue_vectors is not None and len(queue_vectors) and hard_negatives:
        similarity = (p_unit @ queue_vectors.float().T).masked_fill(keys[:, None] == queue_keys[None, :], float("-inf"))
        k = min(hard_negatives, len(queue_vectors))
        hardest = similarity.topk(k, dim=1).values  # -inf (the row's own sentence) sorts last
        s2t = torch.cat([s2t, hardest / temperature], dim=1)
    t2s = (h_unit @ p_unit.T / temperature).masked_fill(blocked, float("-inf"))
    target = torch.arange(b, device=p_unit.device)
    nce = 0.5 * (F.cross_entropy(s2t, target) + F.cross_entropy(t2s, target))
    mse = F.mse_loss(p_unit, h_unit)
    log_ratio = (projected.float().norm(dim=-1) + 1e-8).log() - (teacher.float().norm(dim=-1) + 1e-8).log()
    log_norm = log_ratio.pow(2).mean()
    loss = nce + mse_weight * mse + log_norm_weight * log_norm
    return loss, {"nce": nce.item(), "mse": mse.item(), "log_norm": log_norm.item()}


class SlotExpander(nn.Module):
    """One projected vector -> K soft slots for the LLM's input (B, d) -> (B, K, d).

    Both modes: u = p/|p| -> LayerNorm (no affine) -> x learned scale, which starts at the RMS of
    the LLM's input embeddings. "offsets": slot_k = scale * LN(u) + o_k, o_k learned, zero at the
    start. "mlp": slot_k = scale * LN(MLP(LN(u)))_k, MLP d -> 2d -> K*d (the public code's)."""

    def __init__(self, dim: int, num_slots: int, mode: str, init_scale: float):
        super().__init__()
        self.num_slots, self.mode = num_slots, mode
        self.scale = nn.Parameter(torch.tensor(float(init_scale)))
        if mode == "offsets":
            self.offsets = nn.Parameter(torch.zeros(num_slots, dim))
        else:
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, num_slots * dim))
            for layer in (self.mlp[0], self.mlp[2]):  # small start, as the public code's expander
                nn.init.xavier_uniform_(layer.weight, gain=0.1)
                nn.init.zeros_(layer.bias)

    def forward(self, projected: torch.Tensor) -> torch.Tensor:
        x = projected.to(self.scale.dtype)
        d = x.shape[-1]
        x = F.layer_norm(F.normalize(x, dim=-1), (d,))
        if self.mode == "offsets":
            return self.scale * x[:, None, :] + self.offsets
        slots = self.mlp(x).view(len(x), self.num_slots, d)
        return self.scale * F.layer_norm(slots, (d,))


def usage_penalty(loss_with_slots: torch.Tensor, loss_without_slots: torch.Tensor, weight: float) -> torch.Tensor:
    """w * max(0, L_SFT - L_zero): positive only when the model does better without the foreign
    signal; its gradient then lowers L_SFT (and raises L_zero, where that one carries gradient)."""
    return weight * torch.relu(loss_with_slots - loss_without_slots)
