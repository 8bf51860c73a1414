"""fracneuron.solvers.fdeint: every method's accuracy against analytic solutions, measured orders,
α = 1 reductions, gradients (gradcheck, α included), windowed memory, the solvers' own import graph.
Each method's own checks are in test_gl.py, test_l1.py, test_product.py; adjoint and odeint in
test_adjoint.py and test_odeint.py."""

from __future__ import annotations

import math

import pytest
import torch

import fracneuron as fn

from problems import dyadic_grid, forcing, nonlinear, Y0_VEC


F64 = torch.float64

pytestmark = pytest.mark.usefixtures("single_thread")


ALPHAS = torch.tensor([0.3, 0.6, 0.9], dtype=F64)


METHODS = ["gl", "l1", "pred", "abm", "trap"]


def gamma(x):
    return torch.exp(torch.lgamma(torch.as_tensor(x, dtype=F64)))


# Three problems, batched into one solve: row p is problem p, column j has α = ALPHAS[j].
def relaxation(t, y):
    return -y


def smooth_g(t, a=ALPHAS):
    """g of D^α y = −y + g, y = t³."""
    return t**3 + 6 * t ** (3 - a) / gamma(4 - a)


def dff(t, y, a=ALPHAS):
    """Diethelm–Ford–Freed: D^α y = ... − y^{3/2}, y = t⁸ − 3t^{4+α/2} + 9/4 t^α."""
    return (
        40320 / gamma(9 - a) * t ** (8 - a)
        - 3 * gamma(5 + a / 2) / gamma(5 - a / 2) * t ** (4 - a / 2)
        + 9 / 4 * gamma(a + 1)
        + (1.5 * t ** (a / 2) - t**4) ** 3
        - y.clamp(min=0) ** 1.5
    )


def exact_at_one():
    return torch.stack(
        [fn.mittag_leffler(ALPHAS, -torch.ones(3, dtype=F64)), torch.ones(3, dtype=F64), torch.full((3,), 0.25, dtype=F64)]
    )


def all_three(t, y):
    return torch.stack([relaxation(t, y[0]), -y[1] + smooth_g(t), dff(t, y[2])])


Y0 = torch.tensor([[1.0] * 3, [0.0] * 3, [0.0] * 3], dtype=F64)


def measured_orders(method, sizes, rows=(0, 1, 2), options=None):
    """log2(e_N / e_2N) at t = 1 for each problem row and α: [len(sizes) - 1, rows, 3]."""
    rows = list(rows)
    if rows == [0, 1]:  # linear problems: the leak as the implicit linear part, g independent of y
        func, options = (lambda t, y: torch.stack([torch.zeros_like(y[0]), smooth_g(t)])), {"linear": 1.0, **(options or {})}
    else:
        func = all_three
    errors = []
    for n in sizes:
        t = torch.linspace(0, 1, n + 1, dtype=F64)
        y = fn.fdeint(func, Y0[rows], t, ALPHAS, method=method, options=options)
        errors.append((y[-1] - exact_at_one()[rows]).abs())
    errors = torch.stack(errors)
    return torch.log2(errors[:-1] / errors[1:])


def assert_orders(orders, expected, what):
    expected = torch.as_tensor(expected, dtype=F64).expand(orders.shape[1:])
    worst = (orders - expected).abs().max()
    assert worst <= 0.15, f"{what}: measured orders {orders.tolist()} vs theory {expected.tolist()}"


# ----------------------------------------------------------------------------- accuracy and orders
@pytest.mark.parametrize("method", ["gl", "pred"])
def test_first_order_methods_on_all_three_problems(method):
    orders = measured_orders(method, [100, 200, 400, 800])
    assert_orders(orders, 1.0, method)


def test_abm_order_is_one_plus_alpha():
    orders = measured_orders("abm", [200, 400, 800, 1600], rows=(0, 1, 2))
    assert_orders(orders[:, :2], 1 + ALPHAS, "abm relaxation/smooth")
    assert_orders(orders[:, 2, :1], 1 + ALPHAS[:1], "abm DFF α=0.3")


def test_l1_order_is_two_minus_alpha_on_the_smooth_problem():
    orders = measured_orders("l1", [100, 200, 400, 800], rows=(0, 1))
    assert_orders(orders[:, 1], 2 - ALPHAS, "l1 smooth")
    assert_orders(orders[:, 0], 1.0, "l1 relaxation")


def test_trap_order_is_two_on_the_smooth_problem():
    orders = measured_orders("trap", [100, 200, 400, 800], rows=(0, 1))
    assert_orders(orders[:, 1], 2.0, "trap smooth")
    assert_orders(orders[:, 0], 1 + ALPHAS, "trap relaxation")


@pytest.mark.parametrize("method", METHODS)
def test_each_method_converges_at_its_declared_order_on_the_smooth_problem(method):
    # D^α y = −y + g, y = t³: the error at t = 1 falls as h^p with p the class's convergence_order(α)
    cls = fn.solvers.method_class(method)
    implicit = method in ("l1", "trap")  # the leak as the implicit linear part (a direct solve)
    func = (lambda t, y: smooth_g(t)) if implicit else (lambda t, y: -y + smooth_g(t))
    errors = []
    for n in (400, 800):
        t = torch.linspace(0, 1, n + 1, dtype=F64)
        y = fn.fdeint(func, torch.zeros(3, dtype=F64), t, ALPHAS, method, {"linear": 1.0} if implicit else None)
        errors.append((y[-1] - 1.0).abs())
    measured = torch.log2(errors[0] / errors[1]).unsqueeze(0)
    declared = [cls.convergence_order(float(a)) for a in ALPHAS]
    assert_orders(measured, declared, f"{method} smooth")
    assert not hasattr(cls, "order")  # `order` is the fractional order only: an instance's FractionalOrder


@pytest.mark.parametrize("method", METHODS)
def test_relaxation_matches_mittag_leffler_with_nonzero_initial_value(method):
    # Caputo: D^α y = −2y, y(0) = 3 -> 3 E_α(−2 t^α); a Riemann–Liouville scheme is off by O(1) here.
    t = torch.linspace(0, 2, 801, dtype=F64)
    y = fn.fdeint(lambda t, y: -2 * y, torch.tensor([3.0], dtype=F64), t, 0.6, method=method)
    exact = 3 * fn.mittag_leffler(0.6, -2 * t**0.6)
    tolerance = {"gl": 2e-3, "pred": 2e-3, "l1": 2e-3, "abm": 1e-4, "trap": 1e-4}[method]
    assert (y[-1, 0] - exact[-1]).abs() < tolerance
    assert (y[:, 0] - exact).abs().max() < 0.1  # near t = 0 every scheme is only O(h^α)


def test_any_state_shape_and_float32():
    y0 = torch.rand(2, 3, 4)
    t = torch.linspace(0, 1, 51)
    y = fn.fdeint(lambda t, y: -y, y0, t, 0.7, method="abm")
    assert y.shape == (51, 2, 3, 4) and y.dtype == torch.float32
    assert torch.equal(y[0], y0)
    ref = fn.fdeint(lambda t, y: -y, torch.ones(()), t, 0.7, method="abm")
    torch.testing.assert_close(y[-1], y0 * ref[-1], rtol=1e-5, atol=1e-6)


def test_per_element_alpha_equals_separate_solves():
    t = torch.linspace(0, 1, 65, dtype=F64)
    y0 = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]], dtype=F64)
    for method in METHODS:
        together = fn.fdeint(lambda t, y: -y + t, y0, t, ALPHAS, method=method)
        for j, a in enumerate(ALPHAS.tolist()):
            alone = fn.fdeint(lambda t, y: -y + t, y0[:, j], t, a, method=method)
            torch.testing.assert_close(together[:, :, j], alone, rtol=1e-12, atol=1e-12)  # implicit solves: tol


def test_multi_term_single_coefficient_equals_scaled_equation():
    # 2 D^α y = −y  is  D^α y = −y/2
    t = torch.linspace(0, 1, 41, dtype=F64)
    for method in ("gl", "l1"):
        multi = fn.fdeint(lambda t, y: -y, torch.ones(1, dtype=F64), t, [0.6], method, {"coefficients": [2.0]})
        single = fn.fdeint(lambda t, y: -0.5 * y, torch.ones(1, dtype=F64), t, 0.6, method)
        torch.testing.assert_close(multi, single, rtol=1e-13, atol=1e-14)


def test_multi_term_converges_first_order():
    # D^0.4 y + D^0.8 y = f with y = t², f = Γ(3)/Γ(2.6) t^1.6 + Γ(3)/Γ(2.2) t^1.2
    def f(t, y):
        return (2 / gamma(2.6) * t**1.6 + 2 / gamma(2.2) * t**1.2) * torch.ones_like(y)

    errors = []
    for n in (100, 200, 400):
        t = torch.linspace(0, 1, n + 1, dtype=F64)
        errors.append(abs(float(fn.fdeint(f, torch.zeros(1, dtype=F64), t, [0.4, 0.8], "gl")[-1, 0]) - 1.0))
    assert all(0.85 < math.log2(errors[i] / errors[i + 1]) < 1.15 for i in range(2))


def test_memory_options():
    t = torch.linspace(0, 1, 101, dtype=F64)
    y0 = torch.ones(2, dtype=F64)
    for method in METHODS:
        full = fn.fdeint(lambda t, y: -y, y0, t, 0.5, method)
        assert torch.equal(full, fn.fdeint(lambda t, y: -y, y0, t, 0.5, method, {"memory": "exact"}))
        long_window = fn.fdeint(lambda t, y: -y, y0, t, 0.5, method, {"memory": 200})
        torch.testing.assert_close(long_window, full, rtol=1e-13, atol=1e-14)
        short = fn.fdeint(lambda t, y: -y, y0, t, 0.5, method, {"memory": 10})
        named = fn.fdeint(lambda t, y: -y, y0, t, 0.5, method, {"memory": "window", "memory_options": {"window": 10}})
        torch.testing.assert_close(short, named, rtol=0, atol=0)
        assert (short - full).abs().max() > 1e-3  # a short window is a different model


# ----------------------------------------------------------------------------- α = 1 reductions
def test_gl_and_pred_at_alpha_one_are_explicit_euler_bit_for_bit():
    t = dyadic_grid()
    euler = fn.odeint(nonlinear, Y0_VEC, t, "euler")
    for method in ("gl", "pred"):
        assert torch.equal(fn.fdeint(nonlinear, Y0_VEC, t, 1.0, method), euler), method
    # the same with α a differentiable tensor (no Markovian shortcut: the extra weights are exactly 0)
    alpha = torch.tensor(1.0, dtype=F64, requires_grad=True)
    for method in ("gl", "pred"):
        assert torch.equal(fn.fdeint(nonlinear, Y0_VEC, t, alpha, method).detach(), euler), method


# ----------------------------------------------------------------------------- gradients
def problem(theta):
    return lambda t, y: -theta * y + torch.sin(t + y)


@pytest.mark.parametrize("solver", [fn.fdeint, fn.fdeint_adjoint], ids=["fdeint", "adjoint"])
@pytest.mark.parametrize("method", METHODS)
def test_gradcheck_y0_parameter_alpha(solver, method):
    t = torch.linspace(0, 1, 9, dtype=F64)
    y0 = torch.tensor([0.7, -0.4], dtype=F64, requires_grad=True)
    theta = torch.tensor(1.3, dtype=F64, requires_grad=True)
    alpha = torch.tensor(0.6, dtype=F64, requires_grad=True)
    options = {"tol": 1e-14} if method in ("l1", "trap") else None
    assert torch.autograd.gradcheck(
        lambda y0, theta, alpha: solver(problem(theta), y0, t, alpha, method, options), (y0, theta, alpha)
    )


@pytest.mark.parametrize("method", ["gl", "l1"])
def test_gradcheck_multi_term_alphas_and_coefficients(method):
    t = torch.linspace(0, 1, 9, dtype=F64)
    y0 = torch.tensor([0.7], dtype=F64)
    a1, a2 = (torch.tensor(v, dtype=F64, requires_grad=True) for v in (0.4, 0.8))
    coefs = torch.tensor([1.0, 0.5], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a1, a2, c: fn.fdeint_adjoint(problem(1.0), y0, t, [a1, a2], method, {"coefficients": c, **({"tol": 1e-14} if method == "l1" else {})}),
        (a1, a2, coefs),
    )


def test_gradcheck_per_element_alpha_window_and_linear():
    t = torch.linspace(0, 1, 9, dtype=F64)
    y0 = torch.tensor([[0.7, -0.4]], dtype=F64)
    alpha = torch.tensor([0.5, 0.8], dtype=F64, requires_grad=True)
    lam = torch.tensor(0.9, dtype=F64, requires_grad=True)
    for method in METHODS:
        linear = None if method == "pred" else lam
        options = {"memory": 4, **({} if linear is None else {"linear": linear})}
        assert torch.autograd.gradcheck(lambda a, lam: fn.fdeint(problem(1.0), y0, t, a, method, options), (alpha, lam))


def test_solvers_modules_are_small_and_import_each_other_without_circles():
    # one module per scheme family (gl, l1, product) around one loop: none over 400 lines, and the
    # imports between solvers modules (at module level or inside functions) form no circle
    import ast
    import pathlib

    package = pathlib.Path(fn.solvers.__file__).parent
    edges = {}
    for path in package.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path.name
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                targets.add(node.module.split(".")[0])
        edges[path.stem] = targets - {path.stem}
    done, visiting = set(), []

    def visit(module):
        assert module not in visiting, f"import circle: {' -> '.join(visiting + [module])}"
        if module in done or module not in edges:
            return
        visiting.append(module)
        for target in sorted(edges[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(edges):
        visit(module)
    assert {"gl", "l1", "product", "loop", "base", "kernel_history"} <= set(edges)


def direct_windowed(method, alpha, lam, forcing, n_steps, h, window):
    """The windowed schemes written out directly (O(N²) loops): D^α y = −λ y + forcing(t), y0 = 1."""
    from fracneuron.weights import l1_weights, rectangle_weights, trapezoid_start_weights, trapezoid_weights

    b = rectangle_weights(alpha, n_steps).tolist()
    a = trapezoid_weights(alpha, n_steps).tolist()
    s = trapezoid_start_weights(alpha, n_steps).tolist()
    c = l1_weights(alpha, n_steps).tolist()
    ha, g1 = h**alpha, math.gamma(2 - alpha) * h**alpha
    y, f = [1.0], []
    for n in range(1, n_steps + 1):
        f.append(-lam * y[-1] + forcing((n - 1) * h))
        lo = max(0, n - window)
        if method == "pred":
            y.append(1.0 + ha * sum(b[n - 1 - j] * f[j] for j in range(lo, n)))
            continue
        trapezoid = sum(a[n - j] * f[j] for j in range(max(1, lo), n)) + (s[n] * f[0] if n <= window else 0.0)
        if method == "abm":
            predictor = 1.0 + ha * sum(b[n - 1 - j] * f[j] for j in range(lo, n))
            y.append(1.0 + ha * (a[0] * (-lam * predictor + forcing(n * h)) + trapezoid))
        elif method == "trap":
            y.append((1.0 + ha * (a[0] * forcing(n * h) + trapezoid)) / (1 + ha * a[0] * lam))
        else:  # l1: y_n − y_{n-1} + Σ_{k=1}^{min(n-1, L)} b_k (y_{n-k} − y_{n-k-1}) = g1 f(t_n, y_n)
            known = y[-1] - sum(c[k] * (y[n - k] - y[n - k - 1]) for k in range(1, min(n - 1, window) + 1))
            y.append((known + g1 * forcing(n * h)) / (1 + g1 * lam))
    return torch.tensor(y, dtype=F64)


@pytest.mark.parametrize("method", ["pred", "abm", "trap", "l1"])
def test_memory_window_is_the_truncated_scheme(method):
    # the short-memory principle: the scheme's weights beyond lag L dropped (f_0's too, once out of reach)
    n_steps, h, window, lam, alpha = 30, 0.1, 5, 0.7, 0.6
    forcing = lambda time: math.cos(3 * time)  # noqa: E731
    t = torch.arange(n_steps + 1, dtype=F64) * h
    options = {"memory": window, **({"linear": lam} if method in ("trap", "l1") else {})}
    func = (lambda t, y: -lam * y + torch.cos(3 * t)) if "linear" not in options else (lambda t, y: torch.cos(3 * t) * torch.ones_like(y))
    y = fn.fdeint(func, torch.ones(1, dtype=F64), t, alpha, method, options)[:, 0]
    torch.testing.assert_close(y, direct_windowed(method, alpha, lam, forcing, n_steps, h, window), rtol=1e-12, atol=1e-13)
