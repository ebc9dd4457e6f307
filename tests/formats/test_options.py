"""AuditConfig: the one declaration of the options, their defaults and their rules."""

import re

import pytest

from formats.options import (
    LOSSES,
    OPTION_RANGES,
    AuditConfig,
    ConfigError,
    default_epochs_text,
    option_specs,
)


def test_the_help_text_of_unset_epochs_states_the_bounds():
    assert default_epochs_text() == (
        "40 up to about 10,000 samples, fewer for larger sets (at least 20)"
    )


def test_specs_carry_the_declared_types_choices_and_defaults():
    loss, epochs, mode = option_specs(("loss", "epochs", "mode"))
    assert (loss.value_type, loss.choices, loss.default) == (str, LOSSES, "tgce")
    assert (epochs.value_type, epochs.choices, epochs.default) == (int, None, None)
    modes = ("combined", "checked", "pooled", "dynamics", "crossval", "neighbours")
    assert (mode.choices, mode.default) == (modes, None)


@pytest.mark.parametrize(
    ("options", "option"),
    [({"k": 1.5}, "k"), ({"epochs": 3, "window": 5}, "window"), ({"seed": 2**32}, "seed")],
)
def test_an_error_names_its_option(options, option):
    with pytest.raises(ConfigError) as raised:
        AuditConfig(**options)
    assert raised.value.option == option


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"k": 1.0}, "k must be in (0, 1); got 1.0"),
        ({"k": float("nan")}, "k must be in (0, 1); got nan"),
        ({"q": 0}, "q must be in (0, 1]; got 0"),
        ({"epochs": 1001}, "epochs must be between 1 and 1000; got 1001"),
        ({"folds": 21}, "folds must be between 2 and 20; got 21"),
        ({"image_size": 7}, "image_size must be between 8 and 512; got 7"),
        ({"batch_size": 65537}, "batch_size must be between 1 and 65536; got 65537"),
        ({"learning_rate": 10.5}, "learning_rate must be in (0, 10]; got 10.5"),
        ({"seed": 2**32}, "seed must be between 0 and 4294967295; got 4294967296"),
        ({"prune_every": 0}, "prune_every must be between 1 and 1000; got 0"),
        ({"holdout_fraction": 1.0}, "holdout_fraction must be in [0, 1); got 1.0"),
    ],
)
def test_a_value_out_of_its_range_is_refused_in_the_ranges_words(options, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        AuditConfig(**options)


@pytest.mark.parametrize("name", sorted(OPTION_RANGES))
def test_the_ranges_table_is_what_the_config_checks(name):
    allowed = OPTION_RANGES[name]
    low, high = allowed.offered()
    # window cannot exceed epochs.
    base = {"window": {"epochs": 1000}, "epochs": {"window": 1}}.get(name, {})
    for value in (low, high):
        AuditConfig(**base, **{name: value})
    for value in (low - allowed.step, high + allowed.step):
        with pytest.raises(ConfigError) as raised:
            AuditConfig(**base, **{name: value})
        assert raised.value.option == name


def test_a_form_offers_open_ends_one_step_inside():
    assert OPTION_RANGES["k"].offered() == (0.01, 0.99)
    assert OPTION_RANGES["epochs"].offered() == (1, 1000)
    assert OPTION_RANGES["holdout_fraction"].offered() == (0, 0.99)
