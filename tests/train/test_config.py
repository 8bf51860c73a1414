"""fracneuron.train.config: the forms of the --alpha option."""

from __future__ import annotations

import pytest

from fracneuron.train.config import parse_alpha


@pytest.mark.parametrize(
    "text, values, learn",
    [("0.6", (0.6,), False), ("0.3,0.9", (0.3, 0.9), False), ("learn", (0.8,), True), ("learn=0.5", (0.5,), True)],
)
def test_alpha_option_forms(text, values, learn):
    spec = parse_alpha(text)
    assert (spec.values, spec.learn) == (values, learn)
