"""AuditConfig: the one declaration of the options, their defaults and their rules."""

import pytest

from formats.options import (
    EPOCH_BOUNDS,
    LOSSES,
    TARGET_STEPS,
    AuditConfig,
    ConfigError,
    default_epochs_text,
    option_specs,
)


def test_specs_carry_the_declared_types_choices_and_defaults():
    loss, epochs, mode = option_specs(("loss", "epochs", "mode"))
    assert (loss.value_type, loss.choices, loss.default) == (str, LOSSES, "tgce")
    assert (epochs.value_type, epochs.choices, epochs.default) == (int, None, None)
    assert (mode.choices, mode.default) == (("combined", "checked", "dynamics", "crossval"), None)


def test_images_are_audited_combined_and_tables_checked():
    config = AuditConfig()
    assert config.mode_for(is_image=True) == "combined"
    assert config.mode_for(is_image=False) == "checked"
    assert AuditConfig(mode="crossval").mode_for(is_image=True) == "crossval"
    # A held-out half costs one run; crossval trains cleanlab's usual five.
    folds = [config.fold_count(mode) for mode in ("combined", "checked", "crossval")]
    assert folds == [2, 2, 5]
    assert AuditConfig(folds=3).fold_count("combined") == 3
    # Checked mode's held-out models only count, and train half the epochs.
    assert [config.held_out_epochs(mode, 40) for mode in ("combined", "checked")] == [40, 20]
    assert AuditConfig(window=5).held_out_epochs("checked", 6) == 5
    modes = ("dynamics", "combined", "checked", "crossval")
    assert [config.training_runs(mode, epochs=40) for mode in modes] == [1, 2, 1.5, 4]
    assert AuditConfig(folds=3).training_runs("checked", epochs=40) == 2
    held_out = config.held_out_config()
    assert (held_out.loss, held_out.augment) == ("ce", True)


def test_epochs_left_unset_give_about_the_target_number_of_steps():
    low, high = EPOCH_BOUNDS
    # Up to ~10,000 samples a batch is 1/40 of them: 40 steps an epoch.
    assert AuditConfig().epochs_for(300) == AuditConfig().epochs_for(10_000) == high
    # 15,000 samples in batches of 256: 59 steps an epoch.
    assert AuditConfig().epochs_for(15_000) == -(-TARGET_STEPS // 59)
    assert AuditConfig().epochs_for(60_000) == low
    assert AuditConfig(batch_size=1000).epochs_for(10_000) == high
    assert AuditConfig(epochs=3, window=2).epochs_for(60_000) == 3
    assert default_epochs_text() == (
        "40 up to about 10,000 samples, fewer for larger sets (at least 20)"
    )


@pytest.mark.parametrize(
    ("options", "option"),
    [({"k": 1.5}, "k"), ({"epochs": 3, "window": 5}, "window"), ({"seed": 2**32}, "seed")],
)
def test_an_error_names_its_option(options, option):
    with pytest.raises(ConfigError) as raised:
        AuditConfig(**options)
    assert raised.value.option == option
