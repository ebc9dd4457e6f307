"""AuditConfig.plan: every effective value of an audit, resolved once from the data."""

import dataclasses

import pytest

from formats.defaults import EPOCH_BOUNDS, MAX_IMAGE_SIDE, TARGET_STEPS
from formats.options import AuditConfig, ConfigError
from formats.plan import Plan, Recipe


def epochs(samples: int, **options) -> int:
    return AuditConfig(**options).plan(samples, is_image=False).epochs


PIXELS = AuditConfig(backbone="none")


def test_images_are_audited_on_pretrained_features_like_a_table():
    plan = AuditConfig().plan(500, is_image=True, image_side=64)
    assert (plan.backbone, plan.mode, plan.feature_side, plan.feature_width) == (
        "efficientnet-lite0",
        "pooled",
        224,
        1280,
    )
    # The models train on the features: a table's recipe, no augmentation; the held-out
    # models train every epoch, since their view is pooled with the in-sample one.
    assert not plan.in_sample.augment and plan.first_pruned_epoch == 2
    assert plan.held_out.epochs == plan.epochs and plan.training_runs == 2
    assert AuditConfig().plan(500, is_image=False).backbone == "none"
    with pytest.raises(ConfigError, match="backbone efficientnet-lite0 reads images"):
        AuditConfig(backbone="efficientnet-lite0").plan(500, is_image=False)


def test_images_trained_on_their_pixels_are_audited_combined_and_tables_checked():
    assert PIXELS.plan(500, is_image=True, image_side=64).mode == "combined"
    assert AuditConfig().plan(500, is_image=False).mode == "checked"
    pixels_crossval = AuditConfig(mode="crossval", backbone="none")
    assert pixels_crossval.plan(500, is_image=True, image_side=64).mode == "crossval"


def test_neighbours_mode_trains_nothing_and_needs_features():
    plan = AuditConfig(mode="neighbours").plan(500, is_image=True, image_side=64)
    assert (plan.in_sample, plan.held_out, plan.folds, plan.training_runs) == (None, None, 0, 0)
    assert (plan.epochs, plan.window, plan.neighbours) == (1, 1, 10)
    with pytest.raises(ConfigError, match="mode neighbours compares features"):
        AuditConfig(mode="neighbours", backbone="none").plan(500, is_image=True, image_side=64)


@pytest.mark.parametrize(
    ("mode", "folds", "views", "runs"),
    [
        ("dynamics", 0, 1, 1.0),
        ("combined", 2, 2, 2.0),
        ("checked", 2, 2, 1.5),
        ("crossval", 5, 1, 4.0),
    ],
)
def test_each_mode_plans_its_models(mode, folds, views, runs):
    plan = AuditConfig(mode=mode).plan(2000, is_image=False)
    assert (plan.folds, plan.views, plan.training_runs) == (folds, views, runs)
    assert (plan.in_sample is None) == (mode == "crossval")
    assert (plan.held_out is None) == (mode == "dynamics")


def test_held_out_models_train_plain_cross_entropy_and_checked_ones_half_the_epochs():
    combined = AuditConfig(mode="combined", backbone="none").plan(
        2000, is_image=True, image_side=64
    )
    assert combined.held_out == Recipe("ce", 40, True, (32, 32))
    assert combined.in_sample == Recipe("tgce", 40, False, (50,))
    checked = AuditConfig(mode="checked").plan(2000, is_image=False)
    assert (checked.held_out.loss, checked.held_out.epochs, checked.held_out.augment) == (
        "ce",
        20,
        False,
    )
    # Never fewer than the window it is read over.
    assert (
        AuditConfig(epochs=6, window=5, mode="checked").plan(100, is_image=False).held_out.epochs
        == 5
    )
    # Crossval's fold models are the audit's own recipe.
    crossval = AuditConfig(mode="crossval", loss="gce").plan(2000, is_image=False)
    assert crossval.held_out.loss == "gce"
    assert AuditConfig(folds=3).plan(2000, is_image=False).folds == 3


def test_epochs_left_unset_give_about_the_target_number_of_steps():
    low, high = EPOCH_BOUNDS
    # Up to ~10,000 samples a batch is 1/40 of them: 40 steps an epoch.
    assert epochs(300) == epochs(10_000) == high
    # 15,000 samples in batches of 256: 59 steps an epoch.
    assert epochs(15_000) == -(-TARGET_STEPS // 59)
    assert epochs(60_000) == low
    assert epochs(10_000, batch_size=1000) == high
    assert epochs(60_000, epochs=3, window=2) == 3


def test_small_image_sets_augment_and_tables_never_do():
    assert PIXELS.plan(999, is_image=True, image_side=64).in_sample.augment
    assert not PIXELS.plan(1000, is_image=True, image_side=64).in_sample.augment
    assert not AuditConfig(augment=True).plan(500, is_image=False).in_sample.augment


def test_the_optimiser_and_pruning_are_resolved_in_the_plan():
    plan = PIXELS.plan(3000, is_image=True, image_side=48)
    assert (plan.learning_rate, plan.weight_decay, plan.schedule_floor) == (1e-3, 5e-4, 2e-5)
    # A CNN prunes after a third of training, an MLP after the second epoch.
    assert plan.first_pruned_epoch == 13
    assert AuditConfig().plan(3000, is_image=False).first_pruned_epoch == 2
    assert AuditConfig(prune_start=7).plan(3000, is_image=False).first_pruned_epoch == 7
    assert AuditConfig(learning_rate=0.01).plan(3000, is_image=False).schedule_floor == 2e-4
    assert plan.image_side == 48
    assert AuditConfig().plan(3000, is_image=False, image_side=48).image_side is None


def test_a_plan_is_plain_data_and_describes_itself():
    plan = PIXELS.plan(1797, is_image=True, image_side=MAX_IMAGE_SIDE["cpu"])
    assert isinstance(plan, Plan)
    assert (
        Plan(**{**dataclasses.asdict(plan), "in_sample": plan.in_sample, "held_out": plan.held_out})
        == plan
    )
    assert plan.describe() == (
        "combined mode; tgce, 40 epochs, batch 44 on every sample; 2 held-out folds: ce, 40 "
        "epochs, batch 32, augmented; window 5, learning rate 0.001, k per class; images at "
        "64 px"
    )
