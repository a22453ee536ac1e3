"""Exact solution of linear compartment models under piecewise-constant inputs.

Between input changes the system dx/dt = K x + u has the closed form
x(t) = V [exp(Λt) z0 + (exp(Λt) - 1)/Λ · w] with K = V Λ V⁻¹, z0 = V⁻¹ x0, w = V⁻¹ u,
evaluated at every output time of an interval at once (vectorised), so there is no step-size
error and a 10-day course costs little more than an hour. Time in minutes, amounts in mg.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

DEPOT, CENTRAL, PERIPH2, PERIPH3, METABOLITE, ELIMINATED = range(6)


@dataclass(frozen=True)
class Inputs:
    """Piecewise-constant infusions and instantaneous depot doses, in minutes and mg."""

    infusions: tuple  # (t0, t1, mg/min, compartment)
    impulses: tuple = ()  # (t, mg, compartment)


def system_matrix(p, ka: float | None):
    """K for compartments [depot, central, periph2, periph3, metabolite, eliminated]."""
    k = np.zeros((6, 6))
    if ka:
        k[DEPOT, DEPOT] = -ka
        k[CENTRAL, DEPOT] = ka
    k[CENTRAL, CENTRAL] = -(p.k10 + p.k12 + p.k13)
    k[CENTRAL, PERIPH2], k[PERIPH2, CENTRAL], k[PERIPH2, PERIPH2] = p.k21, p.k12, -p.k21
    k[CENTRAL, PERIPH3], k[PERIPH3, CENTRAL], k[PERIPH3, PERIPH3] = p.k31, p.k13, -p.k31
    if p.fm is not None:
        k[METABOLITE, CENTRAL] = p.fm * p.k10
        k[METABOLITE, METABOLITE] = -p.kme
    k[ELIMINATED, CENTRAL] = p.k10  # cumulative amount eliminated: exact AUC and mass balance
    return k


def with_points(grid, points):
    """np.union1d(grid, points) for a sorted grid without repeats, without np.unique (which
    imports numpy.ma: 10 ms of a simulate's start-up). Returns the grid itself when every point
    is already on it."""
    pts = np.array(sorted(set(points)), dtype=float)
    if not len(pts):
        return grid
    at = np.searchsorted(grid, pts)
    present = (at < len(grid)) & (grid[np.minimum(at, len(grid) - 1)] == pts)
    new = pts[~present]
    return np.insert(grid, at[~present], new) if len(new) else grid


class Solver:
    def __init__(self, params, ka: float | None = None):
        self.params = params
        k = system_matrix(params, ka)
        # Drop compartments that are not used (zero rows and columns) to keep V well conditioned.
        used = [i for i in range(6) if k[i].any() or k[:, i].any() or i in (CENTRAL, ELIMINATED)]
        if ka:
            used = sorted(set(used) | {DEPOT})
        self.used = used
        self.k = k[np.ix_(used, used)]
        lam, vec = np.linalg.eig(self.k)
        if np.linalg.cond(vec) > 1e8:  # repeated eigenvalues (e.g. ka equal to a rate constant)
            from ketadose.errors import KetadoseError

            raise KetadoseError("the model's rate constants coincide; change --ka slightly")
        self.lam = lam
        self.vec = vec
        self.inv = np.linalg.inv(vec)

    def _gains(self, tau):
        """exp(λτ) and (exp(λτ) - 1)/λ (τ where λ = 0), each n x len(tau)."""
        lam = self.lam[:, None]
        lt = lam * tau
        small = np.abs(lam) < 1e-14
        g = np.where(small, tau + 0 * lam, np.expm1(lt) / np.where(small, 1.0, lam))
        return np.exp(lt), g

    def _propagate(self, x0, u, tau):
        """States (len(tau) x n) after tau minutes from x0 under constant input u."""
        e, g = self._gains(np.asarray(tau, dtype=float))
        z = e * (self.inv @ x0)[:, None] + g * (self.inv @ u)[:, None]
        return (self.vec @ z).real.T

    def run(self, inputs: Inputs, times):
        """Amounts in every compartment (len(times) x 6) at the given times (minutes, sorted).

        Issue 18: the state is carried in modal coordinates from one input change to the next,
        every output point is written into one modal array (compartment-major) and turned into
        amounts by one matrix product. On a uniform grid (times == arange(n) * h) exp(λτ) at the
        offsets 0, h, 2h, ... of every interval that starts on a grid point comes from one table
        computed once, instead of one exp per point per interval. The result is a transposed
        view (each compartment's column contiguous)."""
        times = np.asarray(times, dtype=float)
        n, count = len(self.used), len(times)
        pos = {c: i for i, c in enumerate(self.used)}
        breaks = {0.0, float(times[-1])}
        for t0, t1, _r, _c in inputs.infusions:
            breaks.update((t0, t1))
        for t, _mg, _c in inputs.impulses:
            breaks.add(t)
        edges = sorted(b for b in breaks if 0.0 <= b <= times[-1])
        bounds = np.searchsorted(times, edges, side="left").tolist() + [count]
        # the input of every interval [edges[k], edges[k + 1]) inside an infusion's [t0, t1];
        # the last interval (from the last edge on) has none
        last = len(edges) - 1
        u = np.zeros((len(edges), n))
        index = {e: k for k, e in enumerate(edges)}
        for t0, t1, rate, c in inputs.infusions:
            k0, k1 = bisect_left(edges, t0), min(bisect_right(edges, t1) - 1, last)
            if k1 > k0:  # (a negative bound would count from the end)
                u[k0:k1, pos[c]] += rate
        w_all = u @ self.inv.T
        kick: dict = {index[t]: [] for t, _mg, _c in inputs.impulses if t in index}
        for t, mg, c in inputs.impulses:
            if t in index:
                kick[index[t]].append(self.inv[:, pos[c]] * mg)
        table = self._table(times, bounds)
        modal = np.empty((n, count), dtype=self.lam.dtype)
        z = np.zeros(n, dtype=self.lam.dtype)
        for k, a in enumerate(edges):
            for dz in kick.get(k, ()):
                z = z + dz
            w = w_all[k]
            lo, hi = bounds[k], bounds[k + 1]
            on_grid = table is not None and hi > lo and times[lo] == a
            if hi > lo:
                e, g = (table[0][:, :hi - lo], table[1][:, :hi - lo]) if on_grid else \
                    self._gains(times[lo:hi] - a)
                np.multiply(e, z[:, None], out=modal[:, lo:hi])
                modal[:, lo:hi] += g * w[:, None]
            if k == last:
                break
            b = edges[k + 1]
            if on_grid and hi < count and times[hi] == b:
                e, g = table[0][:, hi - lo], table[1][:, hi - lo]
            else:
                e, g = (x[:, 0] for x in self._gains(np.array([b - a])))
            z = e * z + g * w
        out = np.zeros((6, count))
        for c in self.used:
            out[c] = (self.vec[pos[c]] @ modal).real
        return out.T

    def _table(self, times, bounds):
        """exp(λ jh) and (exp(λ jh) - 1)/λ for j = 0 .. the longest interval when the times are
        exactly the uniform grid arange(n) * h; None otherwise (each interval computes its own)."""
        count = len(times)
        if count < 3 or times[0] != 0.0:
            return None
        h = times[1] - times[0]
        if not np.array_equal(times, np.arange(count) * h):
            return None
        longest = max(hi - lo for lo, hi in zip(bounds, bounds[1:]))
        return self._gains(np.arange(longest + 1) * h)
