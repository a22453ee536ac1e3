"""Exact solution for many virtual patients at once (vectorised over patients and times).

Each patient has its own parent system dx/dt = K x + u (depot, central, peripherals; all
eigenvalues negative and distinct). Between input changes the central amount is a sum of
exponentials, A(tau) = sum_j p_j exp(lambda_j tau) + p_inf, evaluated on the output grid for all
patients at once, with its exact running integral (for AUC). A metabolite fed by the parent's
elimination, dM/dt = kf A - k M, is solved in closed form on the same exponentials; a metabolite
clearance that drifts with time (Flint 2017) is held constant over short sub-intervals at its
mid-interval value (error under 0.1%; the tests hold it against an ODE solver).

Both solvers (the mammillary BatchSolver and the general SystemBatchSolver) march through the
same breakpoints with one loop (_ModalSolver._march); they differ only in what they read out of
each interval (a _Readout). Results are handed to a consumer block by block, so memory does not
grow with N x time; AUC is exact at the requested times (day boundaries), from the closed-form
integral.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ketadose.pk.engine import DEPOT, Inputs

# Sub-interval over which a time-varying metabolite clearance is held constant (minutes).
DRIFT_STEP_MIN = 15.0
# Sub-intervals handled at once before the parent is restarted (bounds memory, see _CentralReadout).
DRIFT_STEPS_HELD = 16
# Floats per block of one output (N x m): small enough to stay in the CPU cache.
BLOCK_FLOATS = 32_000

Consumer = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], object]


@dataclass
class Patients:
    """Per-patient parameters (arrays of length N); clearances L/min, volumes L, rates 1/min."""

    cl: np.ndarray
    v1: np.ndarray
    q2: np.ndarray | None = None
    v2: np.ndarray | None = None
    q3: np.ndarray | None = None
    v3: np.ndarray | None = None
    ka: np.ndarray | None = None  # absorption from a depot (oral, SC)
    f: np.ndarray | None = None  # per-patient factor on depot doses (None: doses taken as given)
    cl_m: np.ndarray | None = None  # metabolite apparent clearance
    v_m: np.ndarray | None = None
    cl_m_slope_per_min: float = 0.0
    fm: float = 1.0

    @property
    def n(self) -> int:
        return len(self.cl)


def breakpoints(inputs: Inputs, end: float, auc_times: Sequence[float] = (),
                every: float | None = None) -> list[float]:
    """Sorted times in [0, end] where the closed form restarts: an input starts or stops, an AUC
    is read, or (every, minutes) a restart bounds the work held for one interval."""
    breaks = {0.0, end, *(float(t) for t in auc_times)}
    for t0, t1, _r, _c in inputs.infusions:
        breaks.update((float(t0), float(t1)))
    for t, _mg, _c in inputs.impulses:
        breaks.add(float(t))
    if every:
        breaks.update(np.arange(0.0, end, every).tolist())
    return sorted(b for b in breaks if 0.0 <= b <= end)


def _eigen(k: np.ndarray, coincide: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues (N, d), eigenvectors and their inverses (N, d, d) of one matrix per patient."""
    lam, vec = np.linalg.eig(k)
    if np.abs(lam.imag).max(initial=0.0) > 1e-9 * np.abs(lam.real).max(initial=1.0):
        raise ValueError("complex eigenvalues in a compartment model")  # cannot happen: mammillary
    lam, vec = lam.real, vec.real
    if (lam >= 0).any():
        raise ValueError("a compartment system without elimination")
    cond = np.linalg.cond(vec)
    if not np.all(np.isfinite(cond)) or cond.max() > 1e8:
        from ketadose.errors import KetadoseError

        raise KetadoseError(coincide)
    return lam, vec, np.linalg.inv(vec)


class _Segment(Protocol):
    def amounts(self, tau: np.ndarray, e: list[np.ndarray]) -> list[np.ndarray]:
        """Amount (mg) of each output at tau minutes into the interval, (N, m) each."""

    def close(self, dt: float, e: list[np.ndarray]) -> tuple[list[np.ndarray], object]:
        """At the interval's end, dt minutes in (e: exp(lambda_j dt), (N,) each): each output's
        amount integral over the interval (N,), and what the next interval carries over (e.g.
        the metabolite amount)."""


class _Readout(Protocol):
    scales: list[np.ndarray]  # per output: amount (mg) -> concentration (ng/mL), (N,)
    restart_every: float | None  # minutes between forced restarts (None: only at breakpoints)

    def start(self) -> object:
        """What the first interval carries over (None when nothing beyond the state x)."""

    def segment(self, a: float, b: float | None, z0: np.ndarray, w: np.ndarray,
                carry: object) -> _Segment:
        """The interval [a, b) from modal initial state z0 and modal input w."""


class _Blocks:
    """Hands output columns to the consumer in blocks of about BLOCK_FLOATS: many short
    intervals (15-minute drift steps) would otherwise each cost a consumer call."""

    def __init__(self, consumer: Consumer, n: int):
        self.consumer = consumer
        self.step = max(8, int(BLOCK_FLOATS // max(1, n)))
        self.parts: list[tuple[np.ndarray, list[np.ndarray]]] = []
        self.size = 0

    def add(self, t: np.ndarray, conc: list[np.ndarray]) -> None:
        self.parts.append((t, conc))
        self.size += len(t)
        if self.size >= self.step:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        parts, self.parts, self.size = self.parts, [], 0
        if len(parts) == 1:
            t, conc = parts[0]
        else:
            t = np.concatenate([p[0] for p in parts])
            conc = [np.concatenate([p[1][q] for p in parts], axis=1) for q in range(len(parts[0][1]))]
        self.consumer(t, conc[0], conc[1] if len(conc) > 1 else None)


class _ModalSolver:
    """The time-marching loop shared by both solvers (modal closed form between breakpoints)."""

    lam: np.ndarray
    vec: np.ndarray
    inv: np.ndarray
    n: int
    d: int

    def _slot(self, compartment: int) -> int:
        raise NotImplementedError

    def _factor(self, compartment: int) -> np.ndarray | float:
        return 1.0

    def _doses(self, impulses: dict, inputs: Inputs, a: float, b: float | None,
               x: np.ndarray) -> np.ndarray:
        """Adds the doses given at a to x; the input rates over [a, b) (N, d)."""
        for mg, comp in impulses.get(a, ()):
            x[:, self._slot(comp)] += mg * self._factor(comp)
        u = np.zeros((self.n, self.d))
        if b is not None:
            for t0, t1, rate, comp in inputs.infusions:
                if t0 <= a and b <= t1:
                    u[:, self._slot(comp)] += rate * self._factor(comp)
        return u

    def _march(self, readout: _Readout, inputs: Inputs, times, consumer: Consumer,
               auc_times: Sequence[float]) -> list[np.ndarray]:
        """Solve on `times` (minutes, sorted, from 0), handing concentration blocks to consumer;
        returns each output's running AUC (ng.h/mL, N x len(auc_times)) at auc_times."""
        n, lam = self.n, self.lam
        times = np.asarray(times, dtype=float)
        edges = breakpoints(inputs, float(times[-1]), auc_times, readout.restart_every)
        auc_at = {float(t): i for i, t in enumerate(auc_times)}
        impulses: dict[float, list] = defaultdict(list)
        for t, mg, comp in inputs.impulses:
            impulses[t].append((mg, comp))
        aucs = [np.zeros((n, len(auc_times))) for _ in readout.scales]
        running = [np.zeros(n) for _ in readout.scales]  # integral of each amount, mg.min
        x = np.zeros((n, self.d))
        carry = readout.start()
        blocks = _Blocks(consumer, n)
        for i, a in enumerate(edges):
            b = edges[i + 1] if i + 1 < len(edges) else None
            if a in auc_at:
                for q, scale in enumerate(readout.scales):
                    aucs[q][:, auc_at[a]] = running[q] * scale / 60.0
            u = self._doses(impulses, inputs, a, b, x)
            z0 = np.einsum("nij,nj->ni", self.inv, x)
            w = np.einsum("nij,nj->ni", self.inv, u)
            seg = readout.segment(a, b, z0, w, carry)
            lo = np.searchsorted(times, a, side="left")
            hi = len(times) if b is None else np.searchsorted(times, b, side="left")
            for s in range(lo, hi, blocks.step):
                t = times[s:min(hi, s + blocks.step)]
                tau = t - a
                amounts = seg.amounts(tau, _modes(lam, tau))
                # a sum of exponentials that should be 0 (e.g. at t = 0) can come out at -1e-11:
                # round-off, shown as "-0.0" once rounded; a concentration is never negative
                blocks.add(t, [np.maximum(amt * scale[:, None], 0.0)
                               for amt, scale in zip(amounts, readout.scales)])
            if b is None:
                break
            e = [np.exp(lam[:, j] * (b - a)) for j in range(self.d)]
            integrals, carry = seg.close(b - a, e)
            running = [r + integ for r, integ in zip(running, integrals)]
            eb = np.stack(e, axis=1)
            x = np.einsum("nij,nj->ni", self.vec, eb * z0 + (eb - 1.0) / lam * w)
        blocks.flush()
        return aucs


class _RowsSegment:
    """Outputs that are linear read-outs of the state: sums of exponentials (no carry)."""

    def __init__(self, rows: list[np.ndarray], z0: np.ndarray, w: np.ndarray, lam: np.ndarray):
        self.lam = lam
        self.amp = [(r * (z0 + w / lam), -(r * w / lam).sum(axis=1)) for r in rows]

    def amounts(self, tau: np.ndarray, e: list[np.ndarray]) -> list[np.ndarray]:
        return [_parent(e, p, p_inf) for p, p_inf in self.amp]

    def close(self, dt: float, e: list[np.ndarray]) -> tuple[list[np.ndarray], object]:
        return [_parent_integral(e, dt, p, p_inf, self.lam) for p, p_inf in self.amp], None


class _MetaboliteSegment:
    """The central amount and a metabolite formed from it, over one input interval [a, b).

    The metabolite clearance may drift: it is held constant over sub-intervals starting at
    a + off[k] (span[k] minutes long, km[:, k] per patient). The parent needs no restart at
    those points (its input does not change), so the sub-intervals are handled all at once:
    each sub-interval's metabolite at its start comes from a short scan over k (two operations
    per step), everything else is vectorised over patients and sub-intervals. With the parent's
    amplitudes at a, p_j, those at the start of sub-interval k are p_j e^(lam_j off_k), and on
    the output grid the metabolite is

        M(t) = c0_k + c1_k e^(-km_k (t - a - off_k)) + sum_j q_jk e^(lam_j (t - a)),
        q_jk = kf p_j / (lam_j + km_k),  c0_k = kf p_inf / km_k,
        c1_k = M_k - sum_j q_jk e^(lam_j off_k) - c0_k

    the closed form of dM/dt = kf A(t) - km M, A = sum_j p_j e^(lam_j t) + p_inf, regrouped by
    exponential; the parent's own modes are reused, and no exponential is ever divided by."""

    def __init__(self, vc: np.ndarray, z0: np.ndarray, w: np.ndarray, lam: np.ndarray,
                 m0: np.ndarray, kf: np.ndarray, km: np.ndarray, off: np.ndarray,
                 span: np.ndarray):
        self.lam, self.kf, self.km, self.off = lam, kf, km, off
        self.p = vc * (z0 + w / lam)  # (N, d) amplitudes of the central amount at a
        self.p_inf = -(vc * w / lam).sum(axis=1)  # constant part (N,)
        denom = lam[:, :, None] + km[:, None, :]  # (N, d, K)
        denom = np.where(np.abs(denom) < 1e-12, 1e-12, denom)
        q = kf[:, None, None] * (self.p[:, :, None] / denom)  # (N, d, K)
        kpd = q * np.exp(lam[:, :, None] * off)  # kf x amplitudes at each start / denom
        em = np.exp(-km * span)  # (N, K)
        one_m = (1.0 - em) / km  # integral of e^(-km s) over each sub-interval
        p_inf = self.p_inf[:, None]
        kfk = kf[:, None]
        e_span = np.exp(lam[:, :, None] * span)  # (N, d, K)
        grow = kfk * p_inf * one_m - em * kpd.sum(1) + (e_span * kpd).sum(1)
        starts = np.empty_like(em)  # metabolite amount at each sub-interval's start
        m = m0
        for k in range(em.shape[1]):
            starts[:, k] = m
            m = m * em[:, k] + grow[:, k]
        self.m_end = m
        self.im = (starts * one_m + kfk * p_inf * (span - one_m) / km - one_m * kpd.sum(1)
                   + ((e_span - 1.0) * kpd / lam[:, :, None]).sum(1)).sum(1)
        self.c0 = kfk * p_inf / km  # (N, K)
        self.c1 = starts - kpd.sum(1) - self.c0
        self.q = q

    def amounts(self, tau: np.ndarray, e: list[np.ndarray]) -> list[np.ndarray]:
        k = np.searchsorted(self.off, tau, side="right") - 1
        if k[0] == k[-1]:  # one sub-interval: broadcast its coefficients
            k0 = int(k[0])
            mm = np.exp(np.multiply.outer(-self.km[:, k0], tau - self.off[k0]))
            mm *= self.c1[:, k0, None]
            mm += self.c0[:, k0, None]
            for j, ej in enumerate(e):
                mm += ej * self.q[:, j, k0, None]
        else:
            mm = np.exp(-self.km[:, k] * (tau - self.off[k]))
            mm *= self.c1[:, k]
            mm += self.c0[:, k]
            for j, ej in enumerate(e):
                mm += ej * self.q[:, j, k]
        return [_parent(e, self.p, self.p_inf), mm]

    def close(self, dt: float, e: list[np.ndarray]) -> tuple[list[np.ndarray], object]:
        """Both integrals over [a, b) and the metabolite amount carried to b."""
        return [_parent_integral(e, dt, self.p, self.p_inf, self.lam), self.im], self.m_end


class _CentralReadout:
    """Ketamine in the central compartment, and the metabolite when modelled."""

    def __init__(self, solver: BatchSolver, met: bool):
        pts = solver.pts
        self.solver, self.met = solver, met
        self.scales = [1000.0 / pts.v1]  # mg in central -> ng/mL
        self.step: float | None = None  # drift sub-interval (minutes) of the metabolite clearance
        self.restart_every: float | None = None
        if met:
            if pts.cl_m is None or pts.v_m is None:
                raise ValueError("a metabolite needs its clearance and volume")
            self.cl_m, self.v_m = pts.cl_m, pts.v_m
            self.scales.append(1000.0 / pts.v_m)
            if pts.cl_m_slope_per_min:
                self.step = DRIFT_STEP_MIN
                # at most DRIFT_STEPS_HELD sub-intervals per interval: the per-interval arrays
                # (N x d x sub-intervals) stay small at any N (about 25 MB each at N = 100,000)
                self.restart_every = DRIFT_STEP_MIN * DRIFT_STEPS_HELD
            self.kf = pts.fm * solver.k10

    def start(self) -> object:
        return np.zeros(self.solver.pts.n) if self.met else None

    def _sub_intervals(self, a: float, b: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Starts (minutes from 0) and ends of the sub-intervals of [a, b) over which the
        metabolite clearance is held constant: cut at the multiples of the drift step."""
        cuts = np.array([a])
        if self.step is not None and b is not None:
            first = (np.floor(a / self.step) + 1.0) * self.step
            cuts = np.concatenate((cuts, np.arange(first, b, self.step)))
        ends = np.append(cuts[1:], b if b is not None else a)
        return cuts, ends

    def segment(self, a: float, b: float | None, z0: np.ndarray, w: np.ndarray,
                carry: object) -> _Segment:
        s = self.solver
        if not self.met:
            return _RowsSegment([s.vc], z0, w, s.lam)
        assert isinstance(carry, np.ndarray)  # start() gave the metabolite amount
        starts, ends = self._sub_intervals(a, b)
        mid_h = ((starts + ends) / 2.0) / 60.0
        km = self.cl_m[:, None] * (1.0 + s.pts.cl_m_slope_per_min * 60.0 * mid_h) / self.v_m[:, None]
        return _MetaboliteSegment(s.vc, z0, w, s.lam, carry, self.kf, km, starts - a, ends - starts)


def _mammillary(pts: Patients) -> tuple[np.ndarray, dict[str, int]]:
    """K (N x d x d) of each patient's [depot], central, [p2], [p3] system, and the layout."""
    names = ["central"]
    if pts.ka is not None:
        names.insert(0, "depot")
    names += [p for p, v in (("p2", pts.v2), ("p3", pts.v3)) if v is not None]
    idx = {c: i for i, c in enumerate(names)}
    k = np.zeros((pts.n, len(names), len(names)))
    c = idx["central"]
    k[:, c, c] = -(pts.cl / pts.v1)
    for p, q, v in (("p2", pts.q2, pts.v2), ("p3", pts.q3, pts.v3)):
        if p in idx and q is not None and v is not None:
            j = idx[p]
            k[:, c, c] -= q / pts.v1
            k[:, j, c] = q / pts.v1
            k[:, c, j] = q / v
            k[:, j, j] = -q / v
    if pts.ka is not None:
        j = idx["depot"]
        k[:, j, j] = -pts.ka
        k[:, c, j] = pts.ka
    return k, idx


class BatchSolver(_ModalSolver):
    """Mammillary models (Patients): ketamine in the central compartment and, when the model
    has one, a metabolite formed from it."""

    def __init__(self, pts: Patients):
        self.pts = pts
        n = pts.n
        k, self.idx = _mammillary(pts)
        d = k.shape[1]
        c = self.idx["central"]
        k10 = pts.cl / pts.v1
        self.lam, self.vec, self.inv = _eigen(
            k, "a virtual patient's rate constants coincide (e.g. ka equal to a disposition "
               "rate); change --ka slightly")
        self.k = k
        self.vc = self.vec[:, c, :]  # central row of the eigenvectors (N, d)
        self.k10 = k10
        self.n, self.d = n, d
        self.f = np.ones(n) if pts.f is None else pts.f

    def _slot(self, compartment: int) -> int:
        return self.idx["depot"] if compartment == DEPOT else self.idx["central"]

    def _factor(self, compartment: int) -> np.ndarray | float:
        return self.f if compartment == DEPOT else 1.0

    def run(self, inputs: Inputs, times, consumer: Consumer, auc_times: Sequence[float] = (),
            with_metabolite: bool | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Solve on `times` (minutes, sorted, from 0): call consumer(t, ketamine, norketamine)
        with blocks of concentrations (N x m arrays, ng/mL; norketamine None when not modelled).

        Returns (auc_k, auc_nk): the exact running AUC (ng.h/mL, N x len(auc_times)) at each of
        `auc_times` (auc_nk None when not modelled)."""
        met = self.pts.cl_m is not None if with_metabolite is None else with_metabolite
        aucs = self._march(_CentralReadout(self, met), inputs, times, consumer, auc_times)
        return aucs[0], (aucs[1] if met else None)


def _modes(lam: np.ndarray, tau: np.ndarray) -> list[np.ndarray]:
    """exp(lambda_j tau) for every patient and mode: a list of d arrays (N, m)."""
    return [np.exp(np.multiply.outer(lam[:, j], tau)) for j in range(lam.shape[1])]


def _parent(e: list[np.ndarray], p: np.ndarray, p_inf: np.ndarray) -> np.ndarray:
    """Central amount (or any read-out row) at the output times, (N, m): p_inf + sum_j p_j e_j."""
    amt = e[0] * p[:, 0, None] + p_inf[:, None]
    for j in range(1, len(e)):
        amt += e[j] * p[:, j, None]
    return amt


def _parent_integral(e: list[np.ndarray], dt: float, p: np.ndarray, p_inf: np.ndarray,
                     lam: np.ndarray) -> np.ndarray:
    """Integral of _parent's amount over a whole interval of dt minutes (e: exp(lambda_j dt),
    (N,) each), (N,)."""
    integ = p_inf * dt
    for j, ej in enumerate(e):
        integ += (ej - 1.0) * (p[:, j] / lam[:, j])
    return integ


class _RowsReadout:
    """Outputs read as rows of the state (SystemBatchSolver): nothing carried over."""

    restart_every: float | None = None

    def __init__(self, solver: SystemBatchSolver):
        self.solver = solver
        self.rows = [solver.vec[:, idx, :] for idx, _v in solver.outputs]  # (N, d) each
        self.scales = [1000.0 / vol for _idx, vol in solver.outputs]

    def start(self) -> object:
        return None

    def segment(self, a: float, b: float | None, z0: np.ndarray, w: np.ndarray,
                carry: object) -> _Segment:
        return _RowsSegment(self.rows, z0, w, self.solver.lam)


class SystemBatchSolver(_ModalSolver):
    """Any linear compartment system, one matrix per patient (N x d x d), solved modally like
    BatchSolver: used for models whose structure does not fit the mammillary layout (e.g. a
    hepato-portal compartment and a two-compartment metabolite, Perez-Ruixo 2021).

    outputs: up to two (index, volume array) pairs, concentration = amount / volume (ng/mL);
    input_index maps the engine's CENTRAL / DEPOT to this system's compartments."""

    def __init__(self, k: np.ndarray, outputs: list[tuple[int, np.ndarray]],
                 input_index: dict[int, int]):
        self.lam, self.vec, self.inv = _eigen(
            k, "a virtual patient's rate constants coincide; change --ka slightly")
        self.outputs = outputs
        self.input_index = input_index
        self.n, self.d = k.shape[0], k.shape[1]

    def _slot(self, compartment: int) -> int:
        return self.input_index[compartment]

    def run(self, inputs: Inputs, times, consumer: Consumer,
            auc_times: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray | None]:
        aucs = self._march(_RowsReadout(self), inputs, times, consumer, auc_times)
        return aucs[0], (aucs[1] if len(aucs) > 1 else None)
