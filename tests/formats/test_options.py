"""AuditConfig: the one declaration of the options, their defaults and their rules."""

import pytest

from formats.options import (
    LOSSES,
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
    modes = ("combined", "checked", "dynamics", "crossval", "neighbours")
    assert (mode.choices, mode.default) == (modes, None)


@pytest.mark.parametrize(
    ("options", "option"),
    [({"k": 1.5}, "k"), ({"epochs": 3, "window": 5}, "window"), ({"seed": 2**32}, "seed")],
)
def test_an_error_names_its_option(options, option):
    with pytest.raises(ConfigError) as raised:
        AuditConfig(**options)
    assert raised.value.option == option
