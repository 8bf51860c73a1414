"""fracneuron_snntorch.neuron (the fractional mixin of every snnTorch neuron): α = 1 bit-exact
against the native neurons, α < 1 against the direct GL reference of tests/reference.py, the
new-sequence rule, truncated BPTT, learnable α, copying/pickling and bad input."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
import warnings

import pytest
import torch
from torch import nn

import fracneuron
from fracneuron.memory import StateShapeError

import reference

snn = pytest.importorskip("snntorch")

from snntorch import utils as snn_utils  # noqa: E402


F64 = torch.float64


BETA, THRESHOLD, SYN_DECAY, V_REC = 0.875, 1.0, 0.75, 0.5  # exact in float32


MECHANISMS = ["subtract", "zero", "none"]


def drive(T=40, B=3, N=6, dtype=F64, seed=0):
    """Input currents with enough spikes (and some double-threshold crossings)."""
    g = torch.Generator().manual_seed(seed)
    return (1.6 * torch.rand(T, B, N, generator=g) - 0.2).to(dtype)


def run(neuron, x, states=1):
    """snnTorch's explicit loop over a new sequence; returns per-step outputs as tuples."""
    neuron.reset_mem()
    carried = [None] * states
    outputs = []
    for t in range(x.shape[0]):
        out = neuron(x[t], *carried) if not neuron.init_hidden else neuron(x[t])
        out = out if isinstance(out, tuple) else (out,)
        if not neuron.init_hidden:
            carried = list(out[-states:])  # (spk, syn, mem) of RSynaptic, (mem,) of Leaky, ...
        outputs.append(out)
    return outputs


# --------------------------------------------------------------------------------------------
# The direct Grünwald–Letnikov reference (tests/reference.py) with snnTorch's reset and firing
# --------------------------------------------------------------------------------------------
def _reset_native(base, mechanism, r):
    return {"subtract": base - r * THRESHOLD, "zero": (1 - r) * base, "none": base}[mechanism]


def reference_run(x, charge, mechanism, reset_delay=True, alpha=0.6, coefficients=None, h=1.0):
    """H_n = v0 + s Δ_n − Σ_{k=1}^{n} w̃_k v̂_{n-k} (v0 = 0) with snnTorch's reset and firing.

    The state in the history is v̂, the membrane after snnTorch's reset of the previous step's mem
    (r = mem > threshold). ``charge(state, mem, v_hat, r, x_n)`` returns snnTorch's native new
    membrane (and updates the synaptic/recurrent entries of ``state``); Δ_n = charge − v̂.
    Returns lists of spikes, mems and states."""
    zeros = torch.zeros_like(x[0])
    state = {"syn": zeros, "spk": zeros, "mem": zeros, "r": zeros}

    def increment(x_n, v_hat):
        return charge(state, state["mem"], v_hat, state["r"], x_n) - v_hat

    def fire(potential, v_hat):
        spk = (potential > THRESHOLD).to(x.dtype)
        mem = potential
        if not reset_delay:
            do_reset = spk - state["r"]
            if mechanism == "subtract":
                mem = potential - do_reset * THRESHOLD
            elif mechanism == "zero":
                mem = potential - do_reset * potential
        r = (mem > THRESHOLD).to(x.dtype)
        state.update(spk=spk, mem=mem, r=r)
        return (spk, mem, state["syn"]), _reset_native(mem, mechanism, r)

    steps = reference.gl_run(x, increment, alpha, coefficients, h=h, fire=fire)
    spikes, mems, syns = (list(column) for column in zip(*steps))
    return spikes, mems, syns


def leaky_charge(mechanism):
    def charge(state, mem, v_hat, r, x):
        if mechanism == "zero":  # snnTorch's Leaky zeroes mem before the leak
            return BETA * v_hat + x
        return _reset_native(BETA * mem + x, mechanism, r)

    return charge


def synaptic_charge(mechanism, recurrent=False):
    def charge(state, mem, v_hat, r, x):
        state["syn"] = SYN_DECAY * state["syn"] + x + (V_REC * state["spk"] if recurrent else 0.0)
        return _reset_native(BETA * mem + state["syn"], mechanism, r)

    return charge


def rleaky_charge(mechanism):
    def charge(state, mem, v_hat, r, x):
        return _reset_native(BETA * mem + x + V_REC * state["spk"], mechanism, r)

    return charge


def lapicque_charge(mechanism, R, C, dt):
    def charge(state, mem, v_hat, r, x):
        return _reset_native(x * R * (1 / (R * C)) * dt + (1 - dt / (R * C)) * mem, mechanism, r)

    return charge


def assert_matches(outputs, reference, mem_index=-1, syn_index=None):
    spikes, mems, syns = reference
    err = max((out[mem_index] - m).abs().max().item() for out, m in zip(outputs, mems))
    assert err < 1e-12, err
    for out, spk in zip(outputs, spikes):
        assert torch.equal(out[0].to(F64), spk)
    if syn_index is not None:
        assert max((out[syn_index] - s).abs().max().item() for out, s in zip(outputs, syns)) < 1e-12
    return err


# --------------------------------------------------------------------------------------------
# α = 1: bit for bit the native neuron
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("init_hidden", [False, True])
@pytest.mark.parametrize("reset_delay", [True, False])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_leaky_alpha_one_is_bit_exact(mechanism, reset_delay, init_hidden, dtype):
    kw = dict(beta=BETA, threshold=THRESHOLD, reset_mechanism=mechanism, reset_delay=reset_delay, init_hidden=init_hidden)
    native = snn.Leaky(**kw).to(dtype)
    frac = fracneuron.fractional(snn.Leaky)(**kw, alpha=1.0).to(dtype)
    x = drive(dtype=dtype)
    for ours, theirs in zip(run(frac, x), run(native, x)):
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert torch.equal(frac.mem, native.mem)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("reset_delay", [True, False])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_synaptic_alpha_one_is_bit_exact(mechanism, reset_delay, dtype):
    kw = dict(alpha=SYN_DECAY, beta=BETA, reset_mechanism=mechanism, reset_delay=reset_delay)
    native = snn.Synaptic(**kw).to(dtype)
    frac = fracneuron.fractional(snn.Synaptic)(**kw, frac_alpha=1.0).to(dtype)
    x = drive(dtype=dtype)
    for ours, theirs in zip(run(frac, x, states=2), run(native, x, states=2)):
        assert len(ours) == 3 and all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_fractionalize_alpha_one_is_bit_exact_with_gradients():
    """Swapped in place, with learnable β/θ, graded spikes, output=True: values and gradients."""

    def make():
        torch.manual_seed(1)
        return nn.Sequential(
            nn.Linear(6, 5),
            snn.Leaky(beta=BETA, init_hidden=True, learn_beta=True, learn_threshold=True, graded_spikes_factor=0.5),
            nn.Linear(5, 4),
            snn.Synaptic(alpha=SYN_DECAY, beta=BETA, init_hidden=True, output=True),
        )

    native, frac = make(), fracneuron.fractionalize(make(), alpha=1.0)
    x = drive(T=20, N=6, dtype=torch.float32)
    losses = []
    for net in (native, frac):
        snn_utils.reset(net)
        outs = [net(x[t]) for t in range(x.shape[0])]
        loss = sum(spk.sum() + 0.1 * mem.square().sum() for spk, _, mem in outs)
        loss.backward()
        losses.append((outs, loss))
    for a, b in zip(losses[0][0], losses[1][0]):
        assert all(torch.equal(p, q) for p, q in zip(a, b))
    for (name, p), q in zip(native.named_parameters(), frac.parameters()):
        assert torch.equal(p.grad, q.grad), name


# --------------------------------------------------------------------------------------------
# α < 1: the direct GL reference in float64
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reset_delay", [True, False])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_leaky_matches_gl_reference(mechanism, reset_delay):
    lif = fracneuron.fractional(snn.Leaky)(beta=BETA, reset_mechanism=mechanism, reset_delay=reset_delay, alpha=0.6).double()
    x = drive()
    assert_matches(run(lif, x), reference_run(x, leaky_charge(mechanism), mechanism, reset_delay, alpha=0.6))


def test_leaky_init_hidden_matches_gl_reference():
    lif = fracneuron.fractional(snn.Leaky)(beta=BETA, init_hidden=True, output=True, alpha=0.35).double()
    x = drive()
    assert_matches(run(lif, x), reference_run(x, leaky_charge("subtract"), "subtract", alpha=0.35))


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_synaptic_memory_rides_on_mem(mechanism):
    """Synaptic rule: mem is fractional, syn keeps its first-order update."""
    neuron = fracneuron.fractional(snn.Synaptic)(alpha=SYN_DECAY, beta=BETA, reset_mechanism=mechanism, frac_alpha=0.5).double()
    x = drive()
    ref = reference_run(x, synaptic_charge(mechanism), mechanism, alpha=0.5)
    assert_matches(run(neuron, x, states=2), ref, syn_index=1)


def test_rsynaptic_matches_gl_reference():
    neuron = fracneuron.fractional(snn.RSynaptic)(alpha=SYN_DECAY, beta=BETA, V=V_REC, all_to_all=False, frac_alpha=0.7).double()
    x = drive()
    ref = reference_run(x, synaptic_charge("subtract", recurrent=True), "subtract", alpha=0.7)
    assert_matches(run(neuron, x, states=3), ref, syn_index=1)


@pytest.mark.parametrize("mechanism", ["subtract", "zero"])
def test_rleaky_matches_gl_reference(mechanism):
    """RLeaky 'zero' calls its charge twice per step: the correction still enters once."""
    neuron = fracneuron.fractional(snn.RLeaky)(beta=BETA, V=V_REC, all_to_all=False, reset_mechanism=mechanism, alpha=0.6).double()
    x = drive()
    assert_matches(run(neuron, x, states=2), reference_run(x, rleaky_charge(mechanism), mechanism, alpha=0.6))


@pytest.mark.parametrize("mechanism", ["subtract", "zero"])
def test_lapicque_uses_its_time_step(mechanism):
    """Lapicque is an Euler step of size h = time_step: the increment is scaled by h^(α−1)."""
    neuron = fracneuron.fractional(snn.Lapicque)(beta=BETA, time_step=0.5, reset_mechanism=mechanism, alpha=0.6).double()
    assert neuron.memory.order.step_size == 0.5
    R, C, dt = (float(getattr(neuron, k)) for k in ("R", "C", "time_step"))
    x = drive()
    ref = reference_run(x, lapicque_charge(mechanism, R, C, dt), mechanism, alpha=0.6, h=0.5)
    assert_matches(run(neuron, x), ref)


def test_multi_term_matches_reference():
    neuron = fracneuron.fractional(snn.Leaky)(beta=BETA, alpha=[0.4, 0.9], coefficients=[1.0, 2.0]).double()
    x = drive()
    ref = reference_run(x, leaky_charge("subtract"), "subtract", alpha=[0.4, 0.9], coefficients=[1.0, 2.0])
    assert_matches(run(neuron, x), ref)


def test_per_neuron_alpha_matches_reference():
    alphas = torch.linspace(0.3, 1.0, 6, dtype=F64)
    neuron = fracneuron.fractional(snn.Leaky)(beta=BETA, alpha=alphas).double()
    x = drive()
    assert_matches(run(neuron, x), reference_run(x, leaky_charge("subtract"), "subtract", alpha=alphas))


def test_state_quant_and_graded_spikes_stay_native():
    """state_quant acts on the fractional membrane; graded spikes scale the output as natively."""
    from snntorch.functional import quant

    neuron = fracneuron.fractional(snn.Leaky)(beta=BETA, state_quant=quant.state_quant(num_bits=4), graded_spikes_factor=2.0, alpha=0.6)
    levels = neuron.state_quant(torch.linspace(-2, 2, 101)).unique()
    outs = run(neuron, drive(dtype=torch.float32))
    for spk, mem in outs:
        assert set(spk.unique().tolist()) <= {0.0, 2.0}
        assert torch.isin(mem, levels).all()
    assert any(spk.sum() > 0 for spk, _ in outs)


# --------------------------------------------------------------------------------------------
# New-sequence rule and batch-size changes
# --------------------------------------------------------------------------------------------
def _leaky(**kw):
    return fracneuron.fractional(snn.Leaky)(beta=BETA, alpha=0.6, **kw).double()


def _loop(neuron, x, mem):
    mems = []
    for t in range(x.shape[0]):
        _, mem = neuron(x[t], mem)
        mems.append(mem)
    return mems


def test_fresh_mem_starts_a_new_sequence():
    x1, x2 = drive(T=15, seed=1), drive(T=15, seed=2)
    reference = _loop(_leaky(), x2, None)
    for fresh_mem in (lambda lif: lif.init_leaky(), lambda lif: torch.zeros_like(x2[0])):
        lif = _leaky()
        _loop(lif, x1, None)
        assert lif.memory.steps == 15
        mems = _loop(lif, x2, fresh_mem(lif))
        assert all(torch.equal(a, b) for a, b in zip(mems, reference))
        assert lif.memory.steps == 15
    # passing nothing (or the returned mem) continues the sequence instead
    lif = _leaky()
    _loop(lif, x1, None)
    mems = _loop(lif, x2, None)
    assert lif.memory.steps == 30 and not torch.equal(mems[-1], reference[-1])


def test_detached_alias_continues_the_sequence():
    x = drive(T=20)
    a, b = _leaky(), _leaky()
    mem_a = mem_b = None
    for t in range(20):
        _, mem_a = a(x[t], mem_a)
        _, mem_b = b(x[t], None if mem_b is None else mem_b.detach())
        assert torch.equal(mem_a, mem_b)
    assert b.memory.steps == 20


def test_utils_reset_and_reset_hidden_start_new_sequences():
    x = drive(T=10)
    net = nn.Sequential(nn.Identity(), _leaky(init_hidden=True))
    fresh = [spk for (spk,) in run(_leaky(init_hidden=True), x)]
    for restart in (lambda: snn_utils.reset(net), snn.Leaky.reset_hidden, lambda: net[1].reset_mem()):
        run(net[1], drive(T=7, seed=5))
        restart()
        again = [spk for (spk,) in run(net[1], x)]
        assert all(torch.equal(p, q) for p, q in zip(again, fresh))
        assert net[1].memory.steps == 10


def test_batch_size_change_without_reset_is_an_error():
    lif = _leaky(init_hidden=True)
    run(lif, drive(T=5, B=4))
    with pytest.raises(StateShapeError, match="batch size changed without a reset"):
        lif(drive(T=1, B=3)[0])
    snn_utils.reset(nn.Sequential(lif))
    lif(drive(T=1, B=3)[0])  # a reset makes it a new sequence

    explicit = _leaky()
    spk, mem = explicit(drive(T=1, B=4)[0])
    with pytest.raises(ValueError, match="reset"):
        explicit(drive(T=1, B=3)[0], mem)
    explicit(drive(T=1, B=3)[0], explicit.init_leaky())


# --------------------------------------------------------------------------------------------
# Truncated BPTT and learnable α
# --------------------------------------------------------------------------------------------
def test_snntorch_backprop_tbptt_runs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from snntorch import backprop
        import snntorch.functional as SF

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(6, 8), snn.Leaky(beta=BETA, init_hidden=True), nn.Linear(8, 3), snn.Leaky(beta=BETA, init_hidden=True, output=True)
    )
    fracneuron.fractionalize(net, alpha=0.6)
    data, targets = torch.rand(4, 6), torch.tensor([0, 1, 2, 1])
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    before = net[0].weight.detach().clone()
    # snnTorch 1.0.0's TBPTT needs time_var=False when K is given (K_flag is unbound otherwise)
    loss = backprop.TBPTT(net, [(data, targets)], optimizer, SF.ce_rate_loss(), num_steps=12, time_var=False, K=4)
    assert torch.isfinite(loss).all() and not torch.equal(before, net[0].weight)
    assert net[1].memory.steps == 12  # one sequence of 12 steps, cut into 3 windows


def test_truncated_bptt_gradient_matches_hand_detached_reference():
    """Three windows with snnTorch's detach_hidden(); the last window's gradient equals the one of
    the direct reference with the state and the history detached by hand at the window edges."""
    K, B, N_in, N = 6, 3, 4, 5
    torch.manual_seed(3)
    fc = nn.Linear(N_in, N).double()
    lif = fracneuron.fractional(snn.Leaky)(beta=BETA, init_hidden=True, alpha=0.6).double()
    x = torch.rand(3 * K, B, N_in, dtype=F64)
    target = torch.rand(B, N, dtype=F64)

    def window_loss(mems):
        return sum(((m - target) ** 2).sum() for m in mems)

    snn_utils.reset(nn.Sequential(lif))
    for window in range(3):
        fc.zero_grad()
        mems = []
        for t in range(window * K, (window + 1) * K):
            lif(fc(x[t]))
            mems.append(lif.mem)
        window_loss(mems).backward()
        snn.Leaky.detach_hidden()
    grads = [p.grad.clone() for p in fc.parameters()]

    # reference: the GL recursion, detached by hand
    fc.zero_grad()
    w, _ = reference.combined_weights(0.6, 3 * K)
    mem, history, mems = torch.zeros(B, N, dtype=F64), [], []
    for n in range(1, 3 * K + 1):
        if n - 1 in (K, 2 * K):
            mem, history, mems = mem.detach(), [h.detach() for h in history], []
        r = (mem > THRESHOLD).to(F64)
        history.append(mem - r * THRESHOLD)
        delta = BETA * mem + fc(x[n - 1]) - mem
        mem = delta - sum(w[k] * history[n - k] for k in range(1, n + 1))
        mems.append(mem)
    window_loss(mems).backward()
    for got, want in zip(grads, (p.grad for p in fc.parameters())):
        assert (got - want).abs().max().item() < 1e-12, (got - want).abs().max().item()


def test_learnable_alpha_trains_and_stays_in_range():
    """Fit α to a trajectory made with α = 0.5; then push towards α = 1 and stay in (0, 1]."""
    x = drive(T=30, B=2, N=3, seed=4) * 0.5

    def trajectory(neuron):
        return torch.stack([mem for _, mem in run(neuron, x)])

    kw = dict(beta=BETA, reset_mechanism="none")
    with torch.no_grad():
        target_half = trajectory(fracneuron.fractional(snn.Leaky)(**kw, alpha=0.5).double())
        target_one = trajectory(snn.Leaky(**kw).double())
    lif = fracneuron.fractional(snn.Leaky)(**kw, alpha=0.9, learn_alpha=True).double()
    assert [n for n, _ in lif.named_parameters()] == ["memory.order.alpha_param"]
    optimizer = torch.optim.Adam(lif.parameters(), lr=0.02)
    seen = []
    for target, steps in ((target_half, 80), (target_one, 60)):
        for _ in range(steps):
            optimizer.zero_grad()
            loss = ((trajectory(lif) - target) ** 2).mean()
            loss.backward()
            optimizer.step()
            seen.append(float(lif.memory.alpha.detach()))
        if target is target_half:
            assert abs(seen[-1] - 0.5) < 0.015, seen[-1]
    assert all(0.0 < a <= 1.0 for a in seen)
    assert max(seen) == 1.0  # pushed against the bound, held there


def test_gradcheck_input_alpha_beta():
    """The threshold is left out: snnTorch's spikes are float32, so r·θ rounds θ to float32 and a
    finite difference in θ sees the rounding (natively too). Its gradient is checked to flow."""
    lif = fracneuron.fractional(snn.Leaky)(beta=BETA, threshold=0.75, learn_beta=True, learn_threshold=True, alpha=0.6, learn_alpha=True).double()
    names = ("memory.order.alpha_param", "beta")

    def f(x, *values):
        mem = lif.init_leaky()
        outs = []
        for t in range(x.shape[0]):
            _, mem = torch.func.functional_call(lif, dict(zip(names, values)), (x[t], mem))
            outs.append(mem)
        return torch.stack(outs)

    x = (2 * torch.rand(8, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(0))).requires_grad_()
    values = [torch.tensor(v, dtype=F64, requires_grad=True) for v in ([0.6], BETA)]
    assert torch.autograd.gradcheck(f, (x, *values))
    outs = run(lif, x.detach())
    assert sum(int(spk.sum()) for spk, _ in outs) > 0  # resets happen
    sum(mem.sum() for _, mem in outs).backward()
    assert lif.threshold.grad.abs() > 0 and torch.isfinite(lif.threshold.grad)


# --------------------------------------------------------------------------------------------
# Copy, pickle, state_dict, class swap
# --------------------------------------------------------------------------------------------
def test_deepcopy_continues_the_same_sequence():
    x = drive(T=12)
    lif = _leaky()
    with torch.no_grad():
        mem = None
        for t in range(6):
            _, mem = lif(x[t], mem)
        twin = copy.deepcopy(lif)
        twin_mem = twin.mem
        for t in range(6, 12):
            _, mem = lif(x[t], mem)
            _, twin_mem = twin(x[t], twin_mem)
            assert torch.equal(mem, twin_mem)
    assert twin.memory.steps == 12 and lif.memory is not twin.memory


def test_pickles_whenever_the_native_neuron_does():
    kw = dict(beta=BETA, surrogate_disable=True)  # the default surrogate is a closure: not picklable
    native = snn.Leaky(**kw)
    pickle.dumps(native)
    lif = fracneuron.fractional(snn.Leaky)(**kw, alpha=0.6)
    mem = None
    for t in range(5):
        _, mem = lif(drive(T=5, dtype=torch.float32)[t], mem)
    clone = pickle.loads(pickle.dumps(lif))
    assert type(clone) is type(lif) and clone.memory.steps == 5
    assert pickle.loads(pickle.dumps(type(lif))) is type(lif)  # the class pickles by reference

    class UserLeaky(snn.Leaky):  # a local class: only its instances' reduce can name it
        pass

    assert fracneuron.fractional(UserLeaky) is fracneuron.fractional(UserLeaky)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(fracneuron.fractional(UserLeaky)(**kw))  # exactly as pickle.dumps(UserLeaky(**kw))


def test_class_unpickles_in_a_fresh_process():
    lif = fracneuron.fractional(snn.Synaptic)(alpha=SYN_DECAY, beta=BETA, surrogate_disable=True, frac_alpha=0.6)
    code = "import pickle, sys; m = pickle.loads(sys.stdin.buffer.read()); print(type(m).__qualname__, float(m.memory.alpha))"
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(lif), capture_output=True, check=True)
    assert out.stdout.decode().split() == ["FractionalSynaptic", "0.6"]


def test_state_dict_round_trips_and_native_checkpoints_load():
    kw = dict(beta=torch.full((4,), BETA), learn_beta=True, learn_threshold=True)
    a = fracneuron.fractional(snn.Leaky)(**kw, alpha=0.7, learn_alpha=True)
    with torch.no_grad():
        a.beta.mul_(0.5)
        a.memory.order.alpha_param.fill_(0.45)
    b = fracneuron.fractional(snn.Leaky)(**kw, alpha=0.9, learn_alpha=True)
    b.load_state_dict(a.state_dict())
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert b.memory.alpha.item() == 0.45

    native = snn.Leaky(**kw)
    fixed = fracneuron.fractional(snn.Leaky)(**kw, alpha=0.6)
    fixed.load_state_dict(native.state_dict())  # strict: a fixed α adds no keys
    native.load_state_dict(fixed.state_dict())
    b.load_state_dict(native.state_dict())  # a native checkpoint: the learnable α is kept
    assert b.memory.alpha.item() == 0.45


def test_dtype_move_keeps_the_running_sequence():
    lif = _leaky(init_hidden=True).float()
    x = drive(T=10, dtype=torch.float32)
    with torch.no_grad():
        for t in range(5):
            lif(x[t])
        lif.double()
        for t in range(5, 10):
            lif(x[t].double())
    assert lif.memory.steps == 10 and lif.mem.dtype == F64


def test_passing_the_carried_mem_converted_after_a_move_continues_the_sequence():
    """Issue 11 item 12: lif.to(float64) mid-sequence, then mem.double(): the history continues."""
    x = drive(T=12, dtype=torch.float32)
    reference = _leaky().float()  # never moved
    lif = _leaky().float()
    mem_ref = mem = reference.init_leaky()
    with torch.no_grad():
        for t in range(12):
            if t == 6:
                lif.double()
                mem = mem.double()
            _, mem = lif(x[t].to(mem.dtype), mem)
            _, mem_ref = reference(x[t], mem_ref)
    assert lif.memory.steps == 12 and mem.dtype == F64
    torch.testing.assert_close(mem.float(), mem_ref, rtol=1e-5, atol=1e-5)


def test_a_different_mem_after_a_move_starts_a_new_history_with_a_warning():
    lif = _leaky().float()
    x = drive(T=6, dtype=torch.float32)
    mem = lif.init_leaky()
    for t in range(3):
        _, mem = lif(x[t], mem)
    lif.double()
    with pytest.warns(RuntimeWarning, match="new fractional history started"):
        lif(x[3].double(), torch.zeros_like(mem, dtype=F64))
    assert lif.memory.steps == 1


@pytest.mark.parametrize("cls", ["Synaptic", "RSynaptic"])
def test_framework_argument_checks_run_before_fracneurons(cls):
    """Issue 11 item 4: a state passed to an init_hidden neuron is snnTorch's TypeError, also
    with a new input shape mid-sequence (not fracneuron's StateShapeError)."""
    kw = dict(alpha=SYN_DECAY, beta=BETA, init_hidden=True)
    if cls == "RSynaptic":
        kw.update(linear_features=4)
    native = getattr(snn, cls)(**kw)
    frac = fracneuron.fractional(getattr(snn, cls))(**kw, frac_alpha=0.6)
    x = torch.rand(2, 4)
    for _ in range(3):
        native(x), frac(x)
    states = (torch.zeros(3, 4),)  # one state passed, the membrane left in the module
    with pytest.raises(TypeError, match="init_hidden") as want:
        native(torch.rand(3, 4), *states)
    with pytest.raises(TypeError, match="init_hidden") as got:
        frac(torch.rand(3, 4), *states)
    assert str(got.value) == str(want.value)


def test_user_subclass_is_supported():
    class ScaledLeaky(snn.Leaky):
        def forward(self, input_, mem=None):
            return super().forward(2 * input_, mem)

    frac = fracneuron.fractional(ScaledLeaky)(beta=BETA, alpha=0.6).double()
    x = drive()
    assert_matches(run(frac, x), reference_run(2 * x, leaky_charge("subtract"), "subtract", alpha=0.6))


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.2, float("nan")])
def test_alpha_out_of_range(bad):
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        fracneuron.fractional(snn.Leaky)(beta=BETA, alpha=bad)
    with pytest.raises(ValueError, match=r"frac_alpha: alpha must be in \(0, 1\]"):
        fracneuron.fractional(snn.Synaptic)(alpha=0.9, beta=BETA, frac_alpha=bad)
    net = nn.Sequential(snn.Leaky(beta=BETA))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        fracneuron.fractionalize(net, alpha=bad)
    assert type(net[0]) is snn.Leaky


def test_unknown_memory_and_arguments():
    with pytest.raises(ValueError, match="memory"):
        fracneuron.fractional(snn.Leaky)(beta=BETA, alpha=0.5, memory="nope")
    with pytest.raises(TypeError):
        fracneuron.fractional(snn.Leaky)(beta=BETA, alpha=0.5, not_an_argument=1)
