"""XBridge's optimal-transport alignment losses (paper section 3.2), batched and masked.

Both forms align x, the frozen NMT encoder's states of the LLM's English answer (B, N, d), with
y, the decoder-side mapped LLM states of the same answer (B, M, d). N and M differ because the
two models tokenise differently; masks are (B, N) / (B, M) with 1 = real token. The cost is the
cosine distance C_ij = 1 - cos(x_i, y_j) in [0, 2], and each form returns a scalar: the mean
over the samples that have at least one real token on both sides.

    "relaxed"   the public code's `compute_op_distance_min` (ictnlp/XBridge, modeling_xbridge.py):
                each x_i sends all of its mass w_i = |x_i| / sum_k |x_k| to its nearest y_j,
                    L = sum_i w_i * min_j C_ij
                a one-sided relaxation of OT: no target marginal, so several x_i may pile onto
                one y_j and some y_j receive nothing.
    "sinkhorn"  what the paper describes: an OT problem between the two sequences with cosine
                cost, the masses "obtained by normalizing" the norms (section 3.2; the details
                are deferred to its Appendix A, which our text copy of the paper lacks). It is
                solved here as entropic OT with log-domain Sinkhorn iterations,
                    P* = argmin_{P 1 = a, P^T 1 = b} <P, C> - epsilon * H(P)
                    L  = <P*, C>          (the value POT's `ot.sinkhorn2` returns)
                with a_i ∝ |x_i| and b_j ∝ |y_j| (mass="norm") or uniform (mass="uniform").

Padded tokens get zero mass, receive no transport and never affect the value: their states are
zeroed before anything is computed, so even non-finite padding is harmless. Both forms run in at
least float32 (bf16 backbones would make Sinkhorn's log-sum-exps too coarse).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OT_FORMS = ("relaxed", "sinkhorn")
SINKHORN_MASSES = ("norm", "uniform")

# Norms below this count as zero when normalising (the public code's eps).
_EPS = 1e-8


def _prepare(x: torch.Tensor, x_mask: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor):
    """Common dtype (>= float32), boolean masks, and padding rows zeroed (values and gradients)."""
    if x.dim() != 3 or y.dim() != 3 or x.shape[0] != y.shape[0] or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"expected x (B, N, d) and y (B, M, d) with the same B and d, "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    if x_mask.shape != x.shape[:2] or y_mask.shape != y.shape[:2]:
        raise ValueError(f"expected masks (B, N) and (B, M), got {tuple(x_mask.shape)} for x "
                         f"{tuple(x.shape)} and {tuple(y_mask.shape)} for y {tuple(y.shape)}")
    dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.float32)
    x_valid = x_mask.to(device=x.device) == 1
    y_valid = y_mask.to(device=y.device) == 1
    # torch.where (not multiplication) so that NaN/inf padding cannot leak in as NaN * 0.
    x = torch.where(x_valid.unsqueeze(-1), x.to(dtype), 0.0)
    y = torch.where(y_valid.unsqueeze(-1), y.to(dtype), 0.0)
    return x, x_valid, y, y_valid


def _cosine_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """C_ij = 1 - <x_i, y_j> / (max(|x_i|, eps) max(|y_j|, eps)), (B, N, M), by one matmul.

    The public code broadcasts to (B, N, M, d) first; this needs only (B, N, M). A zero vector
    (padding) has cosine 0 with everything, hence cost 1, finite, and a zero gradient.
    """
    return 1.0 - F.normalize(x, dim=-1, eps=_EPS) @ F.normalize(y, dim=-1, eps=_EPS).transpose(1, 2)


def _batch_mean(sample_loss: torch.Tensor, sample_valid: torch.Tensor) -> torch.Tensor:
    """Mean over valid samples; 0 (still attached to the graph) when there are none.

    No data-dependent branch, so no host-device sync.
    """
    total = torch.where(sample_valid, sample_loss, 0.0).sum()
    return total / sample_valid.sum().clamp(min=1).to(total.dtype)


def relaxed_ot(x: torch.Tensor, x_mask: torch.Tensor, y: torch.Tensor,
               y_mask: torch.Tensor) -> torch.Tensor:
    """The public code's relaxed OT: sum_i w_i min_j (1 - cos(x_i, y_j)), w_i ∝ |x_i| detached.

    Each valid x_i moves all its mass to its nearest valid y_j, so y receives gradient only at
    the argmin rows. Mean over samples with >= 1 valid token on each side (the public code
    checks y only; a sample without valid x contributes 0 there but still counts in the mean).
    """
    x, x_valid, y, y_valid = _prepare(x, x_mask, y, y_mask)
    cost = _cosine_cost(x, y)
    # d_i = min_{j valid} C_ij; invalid columns can never be the minimum.
    d = cost.masked_fill(~y_valid.unsqueeze(1), float("inf")).amin(dim=-1)
    sample_valid = x_valid.any(dim=-1) & y_valid.any(dim=-1)
    # Rows without a valid y hold inf: drop them by where (inf * 0 would be NaN).
    d = torch.where(x_valid & sample_valid.unsqueeze(-1), d, 0.0)
    # w_i = |x_i| / sum_k |x_k| over valid k; detached as in the public code: the weights say how
    # much each token matters, they are not something to optimise (x is frozen anyway).
    norms = torch.linalg.vector_norm(x.detach(), dim=-1)  # padding rows are already 0
    weights = norms / norms.sum(dim=-1, keepdim=True).clamp(min=_EPS)
    return _batch_mean((weights * d).sum(dim=-1), sample_valid)


def _marginal(states: torch.Tensor, valid: torch.Tensor, mass: str) -> torch.Tensor:
    """a_i ∝ |x_i| (mass="norm") or 1 (mass="uniform") over valid tokens, summing to 1; detached.

    A sample whose valid tokens all have zero norm falls back to uniform rather than dividing by
    zero (an all-zero marginal has no transport plan).
    """
    uniform = valid.to(states.dtype)
    if mass == "norm":
        weights = torch.linalg.vector_norm(states.detach(), dim=-1) * uniform
        weights = torch.where(weights.sum(dim=-1, keepdim=True) > 0, weights, uniform)
    else:
        weights = uniform
    return weights / weights.sum(dim=-1, keepdim=True).clamp(min=_EPS)


def sinkhorn_ot(x: torch.Tensor, x_mask: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor, *,
                epsilon: float = 0.1, iterations: int = 100, mass: str = "norm") -> torch.Tensor:
    """Entropic OT cost <P*, C> between x and y (POT's `ot.sinkhorn2`), batched and masked.

    epsilon is the entropic regularisation (POT's `reg`; the cost lies in [0, 2]), iterations the
    number of Sinkhorn sweeps (fixed: no convergence test, hence no host-device sync), mass the
    marginals ("norm": proportional to the L2 norms, "uniform").
    """
    # `not x > 0` also rejects NaN.
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise ValueError(f"sinkhorn_ot: epsilon must be a number > 0, got {epsilon!r}")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"sinkhorn_ot: iterations must be an integer >= 1, got {iterations!r}")
    if mass not in SINKHORN_MASSES:
        raise ValueError(f"sinkhorn_ot: mass must be one of {SINKHORN_MASSES}, got {mass!r}")

    x, x_valid, y, y_valid = _prepare(x, x_mask, y, y_mask)
    cost = _cosine_cost(x, y)  # differentiable: the only path of the gradient
    sample_valid = x_valid.any(dim=-1) & y_valid.any(dim=-1)
    # A sample without tokens on one side has no plan: treat all its tokens as padding.
    x_valid = x_valid & sample_valid.unsqueeze(-1)
    y_valid = y_valid & sample_valid.unsqueeze(-1)
    pair_valid = x_valid.unsqueeze(-1) & y_valid.unsqueeze(1)

    # Gradient by the envelope theorem. W(C) = min_P <P, C> - epsilon H(P) over the transport
    # polytope of (a, b) has dW/dC = P* (the constraints do not depend on C, and a, b are
    # detached). So the plan is solved without autograd (no unrolled graph: memory O(B N M),
    # not O(iterations B N M)) and the loss is <P*, C> with only C differentiable: its value is
    # sinkhorn2's and its gradient P* dC/dy is that of W at convergence. NB: this is not the
    # gradient of <P*(C), C> itself, which would add <dP*/dC, C> (what autograd through the
    # iterations of POT's sinkhorn2 gives).
    with torch.no_grad():
        log_a = _marginal(x, x_valid, mass).log()  # -inf on padding (and on zero-norm tokens)
        log_b = _marginal(y, y_valid, mass).log()
        # log K_ij = -C_ij / epsilon; -inf where i or j is padding: no transport there, ever.
        log_k = (-cost.detach() / epsilon).masked_fill(~pair_valid, float("-inf"))
        # Log scalings u = f / epsilon, v = g / epsilon; P_ij = exp(u_i + log K_ij + v_j).
        u = torch.zeros_like(log_a)
        v = torch.zeros_like(log_b)
        for _ in range(iterations):
            # Same order as POT's sinkhorn_log (v first), so equal iteration counts agree.
            # v_j = log b_j - logsumexp_i(log K_ij + u_i)   =>  column sums of P equal b
            v = log_b - torch.logsumexp(log_k + u.unsqueeze(-1), dim=1)
            # Padding: logsumexp over only -inf is -inf and -inf - -inf is NaN; pin it to 0
            # (log K is -inf there anyway, so the value never matters).
            v = torch.where(y_valid, v, 0.0)
            # u_i = log a_i - logsumexp_j(log K_ij + v_j)   =>  row sums of P equal a
            u = log_a - torch.logsumexp(log_k + v.unsqueeze(1), dim=2)
            u = torch.where(x_valid, u, 0.0)
        plan = torch.exp(log_k + u.unsqueeze(-1) + v.unsqueeze(1))  # exactly 0 off pair_valid

    # L = <P*, C> per sample (padded pairs have P = 0 and finite C, so contribute nothing).
    return _batch_mean((plan * cost).sum(dim=(1, 2)), sample_valid)


def ot_loss(form: str, x: torch.Tensor, x_mask: torch.Tensor, y: torch.Tensor,
            y_mask: torch.Tensor, **options) -> torch.Tensor:
    """Dispatch to `relaxed_ot` or `sinkhorn_ot` (options: epsilon, iterations, mass)."""
    if form == "relaxed":
        if options:
            raise ValueError(f"ot_loss: the relaxed form takes no options, got {sorted(options)}")
        return relaxed_ot(x, x_mask, y, y_mask)
    if form == "sinkhorn":
        return sinkhorn_ot(x, x_mask, y, y_mask, **options)
    raise ValueError(f"ot_loss: unknown form {form!r}; accepted: {OT_FORMS}")
