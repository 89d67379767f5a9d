"""Retrieval scores (LLINK's own metric), torch only: is each query nearest to its own answer?

queries (n, d) and candidates (n, d) are paired by index: query i's answer is candidate i. Cosine
similarity; the rank of the answer is 1 + the number of candidates strictly more similar, so a
candidate identical to the answer (the same sentence twice in a test set) never pushes it down.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CUTOFFS = (1, 5, 10)


def answer_ranks(queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    if queries.shape != candidates.shape or queries.ndim != 2 or len(queries) == 0:
        raise ValueError(f"queries and candidates must be (n, d) alike and non-empty, got "
                         f"{tuple(queries.shape)} and {tuple(candidates.shape)}")
    similarity = F.normalize(queries.double(), dim=-1) @ F.normalize(candidates.double(), dim=-1).T
    answer = similarity.diagonal()[:, None]
    return 1 + (similarity > answer).sum(dim=1)


def retrieval_scores(queries: torch.Tensor, candidates: torch.Tensor) -> dict[str, float]:
    """R@1, R@5, R@10 (share of queries whose answer ranks within k), MRR, mean rank, n."""
    ranks = answer_ranks(queries, candidates).double()
    scores = {f"r@{k}": (ranks <= k).double().mean().item() for k in CUTOFFS}
    scores.update({"mrr": (1 / ranks).mean().item(), "mean_rank": ranks.mean().item(), "n": len(ranks)})
    return scores
