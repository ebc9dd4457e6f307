import math

import pytest
import torch

from formats.options import LOSSES, AuditConfig, ConfigError
from worker.engine import losses
from worker.engine.losses import RobustLoss, TruncatedLq


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(32, 5, generator=generator) * 3, torch.randint(
        0, 5, (32,), generator=generator
    )


def test_lq_tends_to_cross_entropy_as_q_goes_to_zero(batch):
    logits, labels = batch
    lq = losses.generalized_cross_entropy(logits, labels, q=1e-5)
    torch.testing.assert_close(lq, losses.cross_entropy(logits, labels), rtol=1e-3, atol=1e-3)


def test_lq_at_q_one_is_half_the_mae(batch):
    logits, labels = batch
    lq = losses.generalized_cross_entropy(logits, labels, q=1.0)
    torch.testing.assert_close(lq, losses.mean_absolute_error(logits, labels) / 2)


def test_mae_is_l1_distance_to_one_hot(batch):
    logits, labels = batch
    one_hot = torch.nn.functional.one_hot(labels, 5).float()
    expected = (torch.softmax(logits, 1) - one_hot).abs().sum(1)
    torch.testing.assert_close(losses.mean_absolute_error(logits, labels), expected)


@pytest.mark.parametrize("loss", [losses.bootstrap_hard, losses.bootstrap_soft])
def test_bootstrap_with_beta_one_is_cross_entropy(batch, loss):
    logits, labels = batch
    torch.testing.assert_close(loss(logits, labels, beta=1.0), losses.cross_entropy(logits, labels))


def test_hard_bootstrap_targets_the_prediction(batch):
    logits, labels = batch
    predicted = logits.argmax(1)
    torch.testing.assert_close(
        losses.bootstrap_hard(logits, labels, beta=0.0), losses.cross_entropy(logits, predicted)
    )


def test_bi_tempered_with_unit_temperatures_is_cross_entropy(batch):
    logits, labels = batch
    torch.testing.assert_close(
        losses.bi_tempered_logistic(logits, labels, t1=1.0, t2=1.0),
        losses.cross_entropy(logits, labels),
    )


@pytest.mark.parametrize("t", [1.2, 1.5, 2.0, 4.0])
def test_tempered_softmax_is_normalised(batch, t):
    probabilities = losses.tempered_softmax(batch[0], t, iterations=20)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(32), rtol=1e-4, atol=1e-4)
    assert (probabilities >= 0).all()


def test_tempered_normalisation_gradient_matches_finite_differences():
    activations = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a: losses.tempered_softmax(a, 1.5, iterations=50), (activations,), atol=1e-4
    )


def test_tempered_functions_invert_each_other():
    x = torch.linspace(0.1, 3.0, 20)
    for t in (0.5, 0.8, 1.0, 1.3):
        torch.testing.assert_close(losses.exp_t(losses.log_t(x, t), t), x)


def test_symmetric_ce_reverse_term_uses_clipped_log(batch):
    logits, labels = batch
    p_y = torch.softmax(logits, 1).gather(1, labels[:, None]).squeeze(1)
    only_reverse = losses.symmetric_cross_entropy(logits, labels, alpha=0.0, beta=1.0, log_clip=-4)
    torch.testing.assert_close(only_reverse, 4 * (1 - p_y))


def test_focal_with_gamma_zero_is_cross_entropy(batch):
    logits, labels = batch
    torch.testing.assert_close(
        losses.focal(logits, labels, gamma=0.0), losses.cross_entropy(logits, labels)
    )


def test_peer_loss_subtracts_cross_entropy_on_shuffled_labels(batch):
    logits, labels = batch
    value = losses.peer(logits, labels, alpha=0.5, generator=torch.Generator().manual_seed(3))
    order = torch.randperm(32, generator=torch.Generator().manual_seed(3))
    expected = losses.cross_entropy(logits, labels) - 0.5 * losses.cross_entropy(
        logits, labels[order]
    )
    torch.testing.assert_close(value, expected)


def _gaussian_weight(p: torch.Tensor, sigma: float = 0.1 * math.e) -> torch.Tensor:
    return torch.exp(-((p - 0.5) ** 2) / (2 * sigma**2)) - 0.1 * p


def _logits_with_given_probability(p: torch.Tensor) -> torch.Tensor:
    # Two classes, label 0: softmax([log p, log(1 - p)])[0] == p.
    return torch.stack([p.log(), (1 - p).log()], dim=1)


def test_gaussian_weight_peaks_at_half():
    p = torch.tensor([0.5, 0.3, 0.7, 0.05, 0.95])
    loss = losses.gaussian_weighted(
        _logits_with_given_probability(p), torch.zeros(5, dtype=torch.long), sigma=0.1 * math.e
    )
    weight = loss / -p.log()
    torch.testing.assert_close(weight, _gaussian_weight(p))
    assert (weight[0] > weight[1:]).all()


def test_gaussian_weighted_matches_hand_computation():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-3.0, 1.0, 0.5]])
    labels = torch.tensor([0, 2, 0])
    p = torch.softmax(logits, 1)[torch.arange(3), labels]
    sigma = 0.3
    expected = -(torch.exp(-((p - 0.5) ** 2) / (2 * sigma**2)) - 0.1 * p) * p.log()
    torch.testing.assert_close(losses.gaussian_weighted(logits, labels, sigma=sigma), expected)


def test_gaussian_weighted_gradients_are_finite_when_p_saturates():
    # Label 0 with logit +50 gives p -> 1; label 1 with logit -50 gives p -> 0.
    logits = torch.tensor([[50.0, -50.0], [50.0, -50.0]], requires_grad=True)
    loss = losses.gaussian_weighted(logits, torch.tensor([0, 1]), sigma=0.1 * math.e)
    loss.sum().backward()
    assert torch.isfinite(loss).all()
    assert torch.isfinite(logits.grad).all()


def test_gaussian_weight_carries_no_gradient(batch):
    logits, labels = batch
    logits = logits.clone().requires_grad_(True)
    losses.gaussian_weighted(logits, labels, sigma=0.1 * math.e).sum().backward()
    probabilities = torch.softmax(logits.detach(), 1)
    p = probabilities[torch.arange(32), labels]
    # d log p_y / d logits = e_y - softmax(logits); a weight with gradient would add a term.
    d_log_p = torch.nn.functional.one_hot(labels, 5).float() - probabilities
    torch.testing.assert_close(logits.grad, -_gaussian_weight(p)[:, None] * d_log_p)


def test_gw_sigma_must_be_positive():
    with pytest.raises(ConfigError, match="gw_sigma"):
        AuditConfig(gw_sigma=0.0)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("scale", [1e-3, 50.0])
def test_gradients_are_finite_when_probabilities_saturate(name, scale):
    # scale 50 drives p_y to ~0 for some samples and ~1 for others.
    logits = torch.randn(16, 4, generator=torch.Generator().manual_seed(1)) * scale
    logits.requires_grad_(True)
    labels = torch.arange(16) % 4
    loss = RobustLoss(AuditConfig(), name, 16)(logits, labels, torch.arange(16))
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


def test_truncated_lq_gives_pruned_samples_no_gradient():
    truncated = TruncatedLq(4, q=0.7, k=0.5)
    truncated.prune(torch.tensor([0.9, 0.2, 0.6, 0.1]), torch.arange(4))
    logits = torch.randn(4, 3, requires_grad=True)
    truncated(logits, torch.tensor([0, 1, 2, 0]), torch.arange(4)).sum().backward()
    assert logits.grad[[1, 3]].abs().max() == 0
    assert logits.grad[[0, 2]].abs().max() > 0


def test_truncated_lq_prunes_only_the_given_samples():
    truncated = TruncatedLq(4, q=0.7, k=0.5)
    truncated.prune(torch.tensor([0.1, 0.9]), torch.tensor([1, 3]))
    assert truncated.weights.tolist() == [1.0, 0.0, 1.0, 1.0]


def test_truncated_lq_of_pruned_sample_is_lq_of_k():
    truncated = TruncatedLq(2, q=0.7, k=0.4)
    truncated.prune(torch.tensor([0.0, 1.0]), torch.arange(2))
    value = truncated(torch.zeros(2, 3), torch.tensor([0, 0]), torch.arange(2))
    assert value[0].item() == pytest.approx((1 - 0.4**0.7) / 0.7)
    assert value[1].item() == pytest.approx((1 - (1 / 3) ** 0.7) / 0.7)
