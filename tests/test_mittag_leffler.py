"""fracneuron.mittag_leffler against a 30-digit mpmath reference over α ∈ [0.05, 1], z ∈ [−1e3, 0]."""

import math

import pytest
import torch

import fracneuron as fn

mp = pytest.importorskip("mpmath").mp


def reference(alpha: float, z: float, digits: int = 30) -> float:
    """E_α(z) at high precision: the power series with enough working digits to absorb its
    cancellation when that is affordable, else mpmath's own Talbot inversion at high precision."""
    with mp.workdps(digits):
        a, x = mp.mpf(alpha), mp.mpf(z)
        if x == 0:
            return 1.0
        if a == 1:
            return float(mp.exp(x))
        growth = float(abs(x)) ** (1 / alpha)  # the largest series term is about e^growth
        if growth < 150:
            with mp.workdps(digits + int(growth / 2.3) + 20):
                total, k = mp.mpf(0), 0
                while True:
                    term = x**k / mp.gamma(a * k + 1)
                    total += term
                    if k > 10 and abs(term) < mp.mpf(10) ** (-(digits + 5)):
                        return float(total)
                    k += 1
        return float(mp.invertlaplace(lambda s: s ** (a - 1) / (s**a - x), 1, method="talbot"))


ALPHAS = [0.05, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95, 0.999, 1.0]
ZS = [0.0, -1e-9, -1e-4, -0.05, -0.5, -1.0, -3.0, -10.0, -47.0, -200.0, -1000.0]


def test_absolute_error_below_1e_12_against_mpmath():
    a = torch.tensor(ALPHAS, dtype=torch.float64).unsqueeze(1)
    z = torch.tensor(ZS, dtype=torch.float64).unsqueeze(0)
    got = fn.mittag_leffler(a, z)
    assert got.shape == (len(ALPHAS), len(ZS))
    worst = 0.0
    for i, alpha in enumerate(ALPHAS):
        for j, zz in enumerate(ZS):
            worst = max(worst, abs(got[i, j].item() - reference(alpha, zz)))
    assert worst <= 1e-12, worst


def test_random_points_against_mpmath():
    g = torch.Generator().manual_seed(0)
    alpha = 0.05 + 0.95 * torch.rand(40, generator=g, dtype=torch.float64)
    z = -(10 ** (-6 + 9 * torch.rand(40, generator=g, dtype=torch.float64)))
    got = fn.mittag_leffler(alpha, z)
    errors = [abs(got[i].item() - reference(alpha[i].item(), z[i].item())) for i in range(40)]
    assert max(errors) <= 1e-12


def test_known_values():
    # E_{1/2}(-x) = erfcx(x); E_1(-x) = e^{-x}
    assert fn.mittag_leffler(0.5, -1.0).item() == pytest.approx(0.42758357615580700441, abs=1e-12)
    assert fn.mittag_leffler(0.9, -2.0).item() == pytest.approx(0.16352830001693004278, abs=1e-12)
    x = torch.linspace(0, 30, 31, dtype=torch.float64)
    erfcx = torch.special.erfcx(x)
    torch.testing.assert_close(fn.mittag_leffler(0.5, -x), erfcx, rtol=0, atol=1e-12)
    assert torch.equal(fn.mittag_leffler(1.0, -x), torch.exp(-x))
    assert fn.mittag_leffler(0.3, 0.0).item() == 1.0


def test_relaxation_curve_is_monotone_and_bounded():
    t = torch.linspace(0, 20, 400, dtype=torch.float64)
    for alpha in (0.2, 0.6, 0.95):
        y = fn.mittag_leffler(alpha, -(t**alpha))
        assert torch.all(y[1:] <= y[:-1] + 1e-13) and torch.all((y > 0) & (y <= 1))


def test_dtype_and_python_numbers():
    assert fn.mittag_leffler(0.5, -1.0).dtype == torch.float64
    assert fn.mittag_leffler(0.5, torch.tensor([-1.0])).dtype == torch.float32
    assert math.isclose(fn.mittag_leffler(0.5, torch.tensor(-1.0)).item(), 0.4275835, rel_tol=1e-6)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="z <= 0"):
        fn.mittag_leffler(0.5, 1.0)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        fn.mittag_leffler(1.5, -1.0)
