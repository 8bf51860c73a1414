from pathlib import Path

import pytest

from fracneuron.train import TrainConfig


@pytest.fixture
def tiny():
    """Make the configuration of a run that takes a second: digits, 64 samples, 16 neurons, 6 steps
    (``tiny(tmp_path, **overrides)``)."""

    def make(tmp_path: Path, **overrides) -> TrainConfig:
        options = dict(
            dataset="digits", framework="native", alpha="0.6", epochs=1, batch_size=16, hidden=16, T=6,
            limit_train=64, limit_test=32, out=str(tmp_path / "out"), progress=False, plots=False,
        )
        options.update(overrides)
        return TrainConfig(**options)

    return make
