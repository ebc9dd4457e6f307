"""Noise-robust classification losses over logits and integer labels.

Every loss maps ``logits`` of shape ``(n, c)`` and ``labels`` of shape ``(n,)`` (int64) to
per-sample losses of shape ``(n,)``; :class:`RobustLoss` averages them. They are written from
the papers' formulas with log-probabilities computed by ``log_softmax`` so that no loss
takes the log of a probability that underflowed to zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from formats.options import AuditConfig, Loss


def cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy ``-log p_y``, shape ``(n,)``."""
    return F.cross_entropy(logits.float(), labels, reduction="none")


def mean_absolute_error(logits: Tensor, labels: Tensor) -> Tensor:
    """MAE ``||e_y - p||_1 = 2 (1 - p_y)`` (Ghosh et al. 2017), shape ``(n,)``."""
    p_y = _given_log_probability(logits, labels).exp()
    return 2.0 * (1.0 - p_y)


def generalized_cross_entropy(logits: Tensor, labels: Tensor, *, q: float) -> Tensor:
    """Lq loss ``(1 - p_y^q) / q`` (Zhang & Sabuncu 2018), q in (0, 1], shape ``(n,)``.

    ``p_y^q`` is ``exp(q log p_y)``: finite gradients even where ``p_y`` underflows; and
    ``-expm1`` keeps ``1 - p_y^q`` exact for small q, where the loss approaches CE.
    """
    return -torch.expm1(q * _given_log_probability(logits, labels)) / q


def bootstrap_soft(logits: Tensor, labels: Tensor, *, beta: float) -> Tensor:
    """Soft bootstrapping (Reed et al. 2015): target ``beta * y + (1 - beta) * p``.

    The prediction in the target keeps its gradient, as in the paper, where the loss is
    cross-entropy plus a minimum-entropy regulariser.
    """
    log_p = F.log_softmax(logits.float(), dim=1)
    target = beta * F.one_hot(labels, logits.shape[1]).float() + (1.0 - beta) * log_p.exp()
    return -(target * log_p).sum(dim=1)


def bootstrap_hard(logits: Tensor, labels: Tensor, *, beta: float) -> Tensor:
    """Hard bootstrapping (Reed et al. 2015): target ``beta * y + (1 - beta) * e_argmax(p)``."""
    log_p = F.log_softmax(logits.float(), dim=1)
    n_classes = logits.shape[1]
    target = beta * F.one_hot(labels, n_classes).float()
    target = target + (1.0 - beta) * F.one_hot(log_p.argmax(dim=1), n_classes).float()
    return -(target * log_p).sum(dim=1)


def symmetric_cross_entropy(
    logits: Tensor, labels: Tensor, *, alpha: float, beta: float, log_clip: float
) -> Tensor:
    """Symmetric CE (Wang et al. 2019): ``alpha * CE + beta * RCE``.

    RCE is ``-sum_k p_k log y_k`` with ``log 0`` clipped to ``log_clip`` (A, e.g. -4),
    which for a one-hot ``y`` is ``-A * (1 - p_y)``.
    """
    log_p_y = _given_log_probability(logits, labels)
    reverse = -log_clip * (1.0 - log_p_y.exp())
    return alpha * -log_p_y + beta * reverse


def focal(logits: Tensor, labels: Tensor, *, gamma: float) -> Tensor:
    """Focal loss (Lin et al. 2017): ``-(1 - p_y)^gamma log p_y``."""
    log_p_y = _given_log_probability(logits, labels)
    return -((1.0 - log_p_y.exp()).clamp_min(0.0) ** gamma) * log_p_y


def gaussian_weighted(logits: Tensor, labels: Tensor, *, sigma: float) -> Tensor:
    """Gaussian-weighted CE ``-w(p_y) log p_y``, shape ``(n,)``, for logits ``(n, c)``.

    ``w(p) = exp(-(p - 0.5)^2 / (2 sigma^2)) - 0.1 p`` (the published "GW" loss, with sigma as
    the standard deviation) favours samples of middling confidence over easy and hopeless ones.
    Like focal loss's factor, ``w`` is a weight on the detached ``p_y``, not part of the gradient.
    """
    log_p_y = _given_log_probability(logits, labels)
    p_y = log_p_y.detach().exp()
    weight = torch.exp(-((p_y - 0.5) ** 2) / (2.0 * sigma**2)) - 0.1 * p_y
    return -weight * log_p_y


def peer(logits: Tensor, labels: Tensor, *, alpha: float, generator: torch.Generator) -> Tensor:
    """Peer loss (Liu & Guo 2020): ``CE(f(x_i), y_i) - alpha * CE(f(x_i), y_j)``.

    ``y_j`` are the batch's labels in a random order: a label drawn independently of ``x_i``
    from the noisy label distribution, which cancels the noise's bias in expectation.
    """
    order = torch.randperm(labels.shape[0], generator=generator, device="cpu").to(labels.device)
    return cross_entropy(logits, labels) - alpha * cross_entropy(logits, labels[order])


def log_t(x: Tensor, t: float) -> Tensor:
    """Tempered logarithm ``(x^(1-t) - 1) / (1 - t)``; the natural log at t = 1."""
    if t == 1.0:
        return torch.log(x)
    return (x.pow(1.0 - t) - 1.0) / (1.0 - t)


def exp_t(x: Tensor, t: float) -> Tensor:
    """Tempered exponential ``[1 + (1 - t) x]_+^(1 / (1 - t))``; exp at t = 1."""
    if t == 1.0:
        return torch.exp(x)
    return (1.0 + (1.0 - t) * x).clamp_min(0.0).pow(1.0 / (1.0 - t))


class _TemperedNormalization(torch.autograd.Function):
    """Normaliser ``Z(a)`` with ``sum_k exp_t(a_k - Z) = 1`` for t > 1 (Amid et al. 2019).

    Found by the paper's fixed-point iteration; its gradient is the escort distribution
    ``p^t / sum p^t``, so backpropagation does not unroll the iteration.
    """

    @staticmethod
    def forward(ctx, activations: Tensor, t: float, iterations: int) -> Tensor:
        mu = activations.max(dim=-1, keepdim=True).values
        shifted = activations - mu
        scaled = shifted
        for _ in range(iterations):
            partition = exp_t(scaled, t).sum(dim=-1, keepdim=True)
            scaled = shifted * partition.pow(1.0 - t)
        partition = exp_t(scaled, t).sum(dim=-1, keepdim=True)
        normalization = -log_t(1.0 / partition, t) + mu
        ctx.save_for_backward(activations, normalization)
        ctx.t = t
        return normalization

    @staticmethod
    def backward(ctx, grad_output: Tensor) -> tuple[Tensor, None, None]:
        activations, normalization = ctx.saved_tensors
        escorts = exp_t(activations - normalization, ctx.t).pow(ctx.t)
        escorts = escorts / escorts.sum(dim=-1, keepdim=True)
        return escorts * grad_output, None, None


def tempered_softmax(activations: Tensor, t: float, *, iterations: int = 5) -> Tensor:
    """Tempered softmax ``exp_t(a - Z(a))`` with t >= 1; softmax at t = 1. Shape as input."""
    if t == 1.0:
        return F.softmax(activations, dim=-1)
    normalization = _TemperedNormalization.apply(activations, t, iterations)
    return exp_t(activations - normalization, t)


def bi_tempered_logistic(logits: Tensor, labels: Tensor, *, t1: float, t2: float) -> Tensor:
    """Bi-tempered logistic loss (Amid et al. 2019) for one-hot labels, shape ``(n,)``.

    ``sum_k y_k (log_t1 y_k - log_t1 p_k) - (y_k^(2-t1) - p_k^(2-t1)) / (2 - t1)`` with
    ``p = tempered_softmax(logits, t2)``; for one-hot ``y`` the ``y log_t1 y`` terms vanish.
    Equals cross-entropy at t1 = t2 = 1.
    """
    probabilities = tempered_softmax(logits.float(), t2)
    p_y = probabilities.gather(1, labels[:, None]).squeeze(1)
    if t1 == 1.0:
        # p_y can underflow to 0 in float32 far from the optimum; CE's log stays finite there.
        first = -torch.log(p_y.clamp_min(torch.finfo(p_y.dtype).tiny))
    else:
        first = -log_t(p_y, t1)
    second = (1.0 - probabilities.pow(2.0 - t1).sum(dim=1)) / (2.0 - t1)
    return first - second


def _given_log_probability(logits: Tensor, labels: Tensor) -> Tensor:
    return F.log_softmax(logits.float(), dim=1).gather(1, labels[:, None]).squeeze(1)


class TruncatedLq(nn.Module):
    """Truncated Lq loss (Zhang & Sabuncu 2018) with per-sample weights ``w_i`` in {0, 1}.

    ``w_i * Lq(p_y) + (1 - w_i) * Lq(k)``: the second term is a constant, so a pruned sample
    (``w_i = 0``) contributes no gradient. :meth:`prune` sets ``w_i = 1[p_y >= k]``.
    """

    weights: Tensor

    def __init__(self, n_samples: int, *, q: float, k: float) -> None:
        super().__init__()
        self.q = q
        self.k = k
        self.register_buffer("weights", torch.ones(n_samples))

    def forward(self, logits: Tensor, labels: Tensor, indices: Tensor) -> Tensor:
        weights = self.weights[indices]
        lq = generalized_cross_entropy(logits, labels, q=self.q)
        lq_k = -math.expm1(self.q * math.log(self.k)) / self.q
        return weights * lq + (1.0 - weights) * lq_k

    def prune(self, given_probability: Tensor, index: Tensor) -> None:
        """Keep the samples at ``index`` ``(m,)`` whose given-label probability ``(m,)`` is
        at least k."""
        keep = (given_probability.to(self.weights.device) >= self.k).float()
        self.weights[index.to(self.weights.device)] = keep


class RobustLoss(nn.Module):
    """The loss named ``loss`` with ``config``'s parameters (q, beta, ...), averaged over the
    batch.

    ``forward(logits, labels, indices)``: ``indices`` are the samples' positions in the
    training set, needed by truncated Lq's weights.
    """

    def __init__(self, config: AuditConfig, loss: Loss, n_samples: int, *, seed: int = 0) -> None:
        super().__init__()
        self.config = config
        self.name = loss
        self.truncated = (
            TruncatedLq(n_samples, q=config.q, k=config.prune_k) if loss == "tgce" else None
        )
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, logits: Tensor, labels: Tensor, indices: Tensor) -> Tensor:
        return self.per_sample(logits, labels, indices).mean()

    def per_sample(self, logits: Tensor, labels: Tensor, indices: Tensor) -> Tensor:
        c = self.config
        if self.truncated is not None:
            return self.truncated(logits, labels, indices)
        losses = {
            "ce": lambda: cross_entropy(logits, labels),
            "mae": lambda: mean_absolute_error(logits, labels),
            "gce": lambda: generalized_cross_entropy(logits, labels, q=c.q),
            "bootstrap_hard": lambda: bootstrap_hard(logits, labels, beta=c.beta),
            "bootstrap_soft": lambda: bootstrap_soft(logits, labels, beta=c.beta),
            "sce": lambda: symmetric_cross_entropy(
                logits, labels, alpha=c.sce_alpha, beta=c.sce_beta, log_clip=c.sce_log_clip
            ),
            "bitempered": lambda: bi_tempered_logistic(logits, labels, t1=c.t1, t2=c.t2),
            "focal": lambda: focal(logits, labels, gamma=c.gamma),
            "gw": lambda: gaussian_weighted(logits, labels, sigma=c.gw_sigma),
            "peer": lambda: peer(logits, labels, alpha=c.peer_alpha, generator=self.generator),
        }
        return losses[self.name]()
