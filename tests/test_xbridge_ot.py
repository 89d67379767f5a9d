"""XBridge's OT alignment losses: relaxed (the public code's) and Sinkhorn (POT as reference)."""

import math

import numpy as np
import ot
import pytest
import torch

from babelbridge.bridges.xbridge.ot import OT_FORMS, ot_loss, relaxed_ot, sinkhorn_ot


def _cos(u, v):
    dot = sum(a * b for a, b in zip(u, v))
    return dot / (math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v)))


def _relaxed_by_loops(x, x_mask, y, y_mask):
    """sum_i w_i min_j (1 - cos), w_i = |x_i| / sum |x|, mean over samples with tokens: plain Python."""
    losses = []
    for b in range(len(x)):
        xs = [row for row, keep in zip(x[b].tolist(), x_mask[b].tolist()) if keep]
        ys = [row for row, keep in zip(y[b].tolist(), y_mask[b].tolist()) if keep]
        if not xs or not ys:
            continue
        norms = [math.sqrt(sum(a * a for a in row)) for row in xs]
        losses.append(sum(n / sum(norms) * min(1 - _cos(row, col) for col in ys)
                          for n, row in zip(norms, xs)))
    return sum(losses) / len(losses)


def _padded_batch(lengths, dim, generator, garbage=1e3):
    """(B, L, dim) float64 states whose padding is large garbage, and the (B, L) 0/1 mask."""
    states = torch.randn(len(lengths), max(lengths), dim, generator=generator, dtype=torch.float64)
    mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        states[b, n:] = garbage * torch.randn(max(lengths) - n, dim, generator=generator,
                                              dtype=torch.float64)
    return states, mask


def _pot_sample(x, y, epsilon, iterations, mass):
    """POT's sinkhorn2 on one unpadded sample (numpy float64)."""
    x, y = x.detach().numpy(), y.detach().numpy()
    if mass == "norm":
        a, b = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
        a, b = a / a.sum(), b / b.sum()
    else:
        a, b = np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y))
    cost = 1 - (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (
        y / np.linalg.norm(y, axis=1, keepdims=True)).T
    return float(ot.sinkhorn2(a, b, cost, reg=epsilon, method="sinkhorn_log",
                              numItermax=iterations, stopThr=1e-12))


# ---- relaxed ------------------------------------------------------------------------------------

def test_relaxed_equals_hand_computation():
    nan = float("nan")
    x = torch.tensor([[[1., 0.], [0., 2.], [nan, 5.]],     # x1, x2, padding
                      [[3., 4.], [7., -1.], [2., 2.]],     # x1, padding, padding
                      [[1., 1.], [0., 0.], [0., 0.]]])     # a sample without valid y
    x_mask = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 0, 0]])
    y = torch.tensor([[[1., 1.], [0., 1.]],
                      [[0., 1.], [1., 0.]],                # y2 is padding: x1 would prefer it
                      [[1., 1.], [1., 1.]]])
    y_mask = torch.tensor([[1, 1], [1, 0], [0, 0]])
    # Sample 0: cos(x1, y1) = 1/sqrt2, cos(x1, y2) = 0 -> d1 = 1 - 1/sqrt2; x2 is parallel to y2
    # -> d2 = 0; weights |x1| : |x2| = 1 : 2 -> 1/3, 2/3.  Sample 1: cos((3,4), (0,1)) = 4/5 ->
    # d = 0.2 with weight 1.  Sample 2 has no valid y and is left out of the mean.
    expected = ((1 - 1 / math.sqrt(2)) / 3 + 0.2) / 2
    loss = relaxed_ot(x, x_mask, y, y_mask)
    assert loss.dtype == torch.float32 and loss.dim() == 0
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_relaxed_matches_python_loops_on_random_batches():
    gen = torch.Generator().manual_seed(0)
    for x_lengths, y_lengths in [([3, 5, 1], [4, 2, 6]), ([7], [7]), ([2, 4], [5, 1])]:
        x, x_mask = _padded_batch(x_lengths, 5, gen)
        y, y_mask = _padded_batch(y_lengths, 5, gen)
        loss = relaxed_ot(x, x_mask, y, y_mask)
        assert loss.dtype == torch.float64
        assert loss.item() == pytest.approx(_relaxed_by_loops(x, x_mask, y, y_mask), rel=1e-12)


@pytest.mark.parametrize("form", OT_FORMS)
def test_padding_never_changes_the_value(form):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, 6, generator=gen, dtype=torch.float64)
    y = torch.randn(1, 3, 6, generator=gen, dtype=torch.float64)
    bare = ot_loss(form, x, torch.ones(1, 4), y, torch.ones(1, 3))
    garbage_x = torch.cat([x, 1e4 * torch.randn(1, 5, 6, generator=gen, dtype=torch.float64)], 1)
    garbage_y = torch.cat([y, torch.full((1, 2, 6), float("nan"), dtype=torch.float64)], 1)
    padded = ot_loss(form, garbage_x, torch.tensor([[1, 1, 1, 1, 0, 0, 0, 0, 0]]),
                     garbage_y, torch.tensor([[1, 1, 1, 0, 0]]))
    assert torch.isfinite(padded)
    if form == "relaxed":
        assert padded.item() == bare.item()
    else:  # logsumexps over longer (masked) rows sum in another order: equal to the last bits
        assert padded.item() == pytest.approx(bare.item(), rel=1e-14)
    # ...and inside a batch, next to a longer sample.
    other_x = torch.randn(1, 9, 6, generator=gen, dtype=torch.float64)
    other_y = torch.randn(1, 5, 6, generator=gen, dtype=torch.float64)
    other = ot_loss(form, other_x, torch.ones(1, 9), other_y, torch.ones(1, 5))
    batch = ot_loss(form, torch.cat([garbage_x, other_x]),
                    torch.tensor([[1, 1, 1, 1, 0, 0, 0, 0, 0], [1] * 9]),
                    torch.cat([garbage_y, other_y]), torch.tensor([[1, 1, 1, 0, 0], [1] * 5]))
    assert batch.item() == pytest.approx((bare.item() + other.item()) / 2, rel=1e-12)


def test_relaxed_gradient_reaches_y_only_at_the_argmin_rows():
    gen = torch.Generator().manual_seed(2)
    x, x_mask = _padded_batch([3, 2], 4, gen)
    y, y_mask = _padded_batch([8, 8], 4, gen)
    y_mask[1, 6:] = 0
    y.requires_grad_(True)
    relaxed_ot(x, x_mask, y, y_mask).backward()
    assert x.grad is None  # x (the frozen encoder's states) does not require grad
    argmin_rows = set()
    for b in range(2):
        valid_y = [j for j in range(8) if y_mask[b, j]]
        for i in range(x.shape[1]):
            if x_mask[b, i]:
                costs = [1 - _cos(x[b, i].tolist(), y[b, j].tolist()) for j in valid_y]
                argmin_rows.add((b, valid_y[costs.index(min(costs))]))
    assert len(argmin_rows) < int(y_mask.sum())  # some valid rows are nobody's nearest
    for b in range(2):
        for j in range(8):
            touched = bool(y.grad[b, j].abs().sum() > 0)
            assert touched == ((b, j) in argmin_rows), (b, j)


def test_relaxed_weights_are_detached():
    """The weights |x_i| / sum |x| carry no gradient: x's gradient is that of sum_i w_i d_i, w fixed."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 5, 4, generator=gen, dtype=torch.float64)
    relaxed_ot(x, torch.ones(1, 3), y, torch.ones(1, 5)).backward()
    norms = x.detach().norm(dim=-1)
    xr = x.detach().clone().requires_grad_(True)
    cost = 1 - torch.nn.functional.cosine_similarity(xr[0, :, None], y[0, None], dim=-1)
    (norms[0] / norms.sum() * cost.min(dim=-1).values).sum().backward()
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("form", OT_FORMS)
def test_no_valid_sample_gives_an_attached_zero(form):
    x = torch.randn(2, 3, 4)
    y = torch.randn(2, 2, 4, requires_grad=True)
    loss = ot_loss(form, x, torch.tensor([[1, 1, 0], [0, 0, 0]]), y, torch.zeros(2, 2))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(y.grad, torch.zeros_like(y))


# ---- sinkhorn -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mass", ["norm", "uniform"])
@pytest.mark.parametrize("epsilon", [0.1, 0.05])
def test_sinkhorn_matches_pot_per_sample(mass, epsilon):
    gen = torch.Generator().manual_seed(4)
    x_lengths, y_lengths = [4, 6, 1, 5], [7, 3, 5, 5]
    x, x_mask = _padded_batch(x_lengths, 8, gen)
    y, y_mask = _padded_batch(y_lengths, 8, gen)
    iterations = 1000
    expected = [_pot_sample(x[b, :n], y[b, :m], epsilon, iterations, mass)
                for b, (n, m) in enumerate(zip(x_lengths, y_lengths))]
    for b in range(len(x_lengths)):
        ours = sinkhorn_ot(x[b:b + 1], x_mask[b:b + 1], y[b:b + 1], y_mask[b:b + 1],
                           epsilon=epsilon, iterations=iterations, mass=mass)
        assert ours.item() == pytest.approx(expected[b], rel=1e-5), b
    batch = sinkhorn_ot(x, x_mask, y, y_mask, epsilon=epsilon, iterations=iterations, mass=mass)
    assert batch.item() == pytest.approx(sum(expected) / len(expected), rel=1e-5)


def _norm_mass(states):
    norms = states.detach().norm(dim=-1)
    return norms / norms.sum()


def _entropic_value_unrolled(x, y, epsilon, iterations, a, b):
    """W = <P, C> + epsilon sum P (log P - 1), P from log-Sinkhorn, autograd through it all.

    The minimum of sinkhorn's objective <P, C> - epsilon H(P), H(P) = -sum P (log P - 1), with
    the marginals a, b given as constants (the module detaches them).
    """
    log_a, log_b = a.log(), b.log()
    cost = 1 - torch.nn.functional.normalize(x, dim=-1) @ torch.nn.functional.normalize(y, dim=-1).T
    u, v = torch.zeros_like(log_a), torch.zeros_like(log_b)
    for _ in range(iterations):
        v = log_b - torch.logsumexp(-cost / epsilon + u[:, None], dim=0)
        u = log_a - torch.logsumexp(-cost / epsilon + v[None, :], dim=1)
    log_plan = -cost / epsilon + u[:, None] + v[None, :]
    plan = log_plan.exp()
    return (plan * cost).sum() + epsilon * (plan * (log_plan - 1)).sum()


def test_sinkhorn_gradient_is_the_envelope_gradient():
    """At convergence d/dy of the returned loss equals d/dy of the entropic OT value W (envelope
    theorem), checked against autograd through a fully differentiable unrolled Sinkhorn."""
    gen = torch.Generator().manual_seed(5)
    x, x_mask = _padded_batch([5, 3], 6, gen)
    y, y_mask = _padded_batch([4, 7], 6, gen)
    y.requires_grad_(True)
    epsilon, iterations = 0.1, 500
    sinkhorn_ot(x, x_mask, y, y_mask, epsilon=epsilon, iterations=iterations).backward()
    assert torch.isfinite(y.grad).all()
    assert torch.equal(y.grad[0, 4:], torch.zeros_like(y.grad[0, 4:]))  # padding: no gradient
    for b, (n, m) in enumerate([(5, 4), (3, 7)]):
        yb = y.detach()[b, :m].clone().requires_grad_(True)
        # The batch loss is the mean over 2 samples, hence the 1/2.
        value = _entropic_value_unrolled(x[b, :n], yb, epsilon, iterations,
                                         _norm_mass(x[b, :n]), _norm_mass(yb))
        (value / 2).backward()
        torch.testing.assert_close(y.grad[b, :m], yb.grad, rtol=1e-6, atol=1e-9)
    # A central finite difference of W agrees too (one coordinate, no autograd in the reference;
    # the marginals stay those of the unperturbed y, since the module detaches them).
    h = 1e-6
    a, b = _norm_mass(x[1, :3]), _norm_mass(y[1, :7])
    plus, minus = y.detach()[1, :7].clone(), y.detach()[1, :7].clone()
    plus[2, 3] += h
    minus[2, 3] -= h
    fd = (_entropic_value_unrolled(x[1, :3], plus, epsilon, iterations, a, b)
          - _entropic_value_unrolled(x[1, :3], minus, epsilon, iterations, a, b)) / (2 * h) / 2
    assert y.grad[1, 2, 3].item() == pytest.approx(fd.item(), rel=1e-5)


def test_identical_sequences():
    gen = torch.Generator().manual_seed(6)
    x, mask = _padded_batch([5, 3], 8, gen)
    assert relaxed_ot(x, mask, x.clone(), mask).item() == pytest.approx(0.0, abs=1e-12)
    values = [sinkhorn_ot(x, mask, x.clone(), mask, epsilon=eps, iterations=2000).item()
              for eps in (0.5, 0.1, 0.03)]
    assert 0 < values[2] < values[1] < values[0] < 0.5, values
    assert values[2] < 1e-3, values  # -> 0 as epsilon -> 0: the identity plan costs nothing


def test_low_precision_inputs_run_in_float32():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 4, 8, generator=gen).to(torch.bfloat16)
    y = torch.randn(2, 5, 8, generator=gen, requires_grad=True)
    mask_x, mask_y = torch.ones(2, 4), torch.ones(2, 5)
    for form in OT_FORMS:
        loss = ot_loss(form, x, mask_x, y, mask_y)
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        reference = ot_loss(form, x.float(), mask_x, y, mask_y)
        assert loss.item() == reference.item()


def test_ot_loss_dispatches():
    gen = torch.Generator().manual_seed(8)
    x, x_mask = _padded_batch([3, 4], 4, gen)
    y, y_mask = _padded_batch([5, 2], 4, gen)
    assert ot_loss("relaxed", x, x_mask, y, y_mask).item() == relaxed_ot(x, x_mask, y, y_mask).item()
    options = {"epsilon": 0.2, "iterations": 30, "mass": "uniform"}
    assert (ot_loss("sinkhorn", x, x_mask, y, y_mask, **options).item()
            == sinkhorn_ot(x, x_mask, y, y_mask, **options).item())


# ---- arguments ----------------------------------------------------------------------------------

@pytest.mark.parametrize("options, match", [
    ({"epsilon": 0.0}, r"epsilon must be a number > 0, got 0\.0"),
    ({"epsilon": -1}, r"epsilon must be a number > 0, got -1"),
    ({"epsilon": float("nan")}, r"epsilon must be a number > 0, got nan"),
    ({"iterations": 0}, r"iterations must be an integer >= 1, got 0"),
    ({"iterations": 2.5}, r"iterations must be an integer >= 1, got 2\.5"),
    ({"mass": "l2"}, r"mass must be one of \('norm', 'uniform'\), got 'l2'"),
])
def test_sinkhorn_rejects_bad_arguments(options, match):
    x, y = torch.randn(1, 2, 3), torch.randn(1, 2, 3)
    with pytest.raises(ValueError, match=match):
        sinkhorn_ot(x, torch.ones(1, 2), y, torch.ones(1, 2), **options)


def test_ot_loss_rejects_bad_arguments():
    x, y = torch.randn(1, 2, 3), torch.randn(1, 2, 3)
    mask = torch.ones(1, 2)
    with pytest.raises(ValueError, match=r"unknown form 'emd'; accepted: \('relaxed', 'sinkhorn'\)"):
        ot_loss("emd", x, mask, y, mask)
    with pytest.raises(ValueError, match=r"relaxed form takes no options, got \['epsilon'\]"):
        ot_loss("relaxed", x, mask, y, mask, epsilon=0.1)
    with pytest.raises(ValueError, match=r"expected x \(B, N, d\) and y \(B, M, d\)"):
        relaxed_ot(x, mask, torch.randn(1, 2, 4), mask)
    with pytest.raises(ValueError, match=r"expected masks \(B, N\) and \(B, M\)"):
        relaxed_ot(x, torch.ones(1, 3), y, mask)
