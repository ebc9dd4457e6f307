"""AuditConfig: the one declaration of the options, their defaults and their rules."""

import pytest

from formats.options import (
    DEFAULT_EPOCHS,
    LOSSES,
    AuditConfig,
    ConfigError,
    default_epochs_text,
    option_specs,
)


def test_specs_carry_the_declared_types_choices_and_defaults():
    loss, epochs, mode = option_specs(("loss", "epochs", "mode"))
    assert (loss.value_type, loss.choices, loss.default) == (str, LOSSES, "tgce")
    assert (epochs.value_type, epochs.choices, epochs.default) == (int, None, None)
    assert mode.choices == ("dynamics", "crossval")


def test_epochs_left_unset_resolve_per_kind():
    assert AuditConfig().epochs_for("image") == DEFAULT_EPOCHS["image"]
    assert AuditConfig().epochs_for("table") == DEFAULT_EPOCHS["table"]
    assert AuditConfig(epochs=3, window=2).epochs_for("table") == 3
    assert default_epochs_text() == "20 for images, 40 for tables"


@pytest.mark.parametrize(
    ("options", "option"),
    [({"k": 1.5}, "k"), ({"epochs": 3, "window": 5}, "window"), ({"seed": 2**32}, "seed")],
)
def test_an_error_names_its_option(options, option):
    with pytest.raises(ConfigError) as raised:
        AuditConfig(**options)
    assert raised.value.option == option
