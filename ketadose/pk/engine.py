"""Exact solution of linear compartment models under piecewise-constant inputs.

Between input changes the system dx/dt = K x + u has the closed form
x(t) = V [exp(Λt) z0 + (exp(Λt) - 1)/Λ · w] with K = V Λ V⁻¹, z0 = V⁻¹ x0, w = V⁻¹ u,
evaluated at every output time of an interval at once (vectorised), so there is no step-size
error and a 10-day course costs little more than an hour. Time in minutes, amounts in mg.
"""

from __future__ import annotations

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

    def _propagate(self, x0, u, tau):
        """States (len(tau) x n) after tau minutes from x0 under constant input u."""
        lam = self.lam
        z0 = self.inv @ x0
        w = self.inv @ u
        lt = np.outer(tau, lam)
        e = np.exp(lt)
        small = np.abs(lam) < 1e-14
        g = np.where(small, tau[:, None] + 0 * lam, np.expm1(lt) / np.where(small, 1.0, lam))
        z = e * z0 + g * w
        return (z @ self.vec.T).real

    def run(self, inputs: Inputs, times):
        """Amounts in every compartment (len(times) x 6) at the given times (minutes, sorted)."""
        times = np.asarray(times, dtype=float)
        n = len(self.used)
        pos = {c: i for i, c in enumerate(self.used)}
        breaks = {0.0, float(times[-1])}
        for t0, t1, _r, _c in inputs.infusions:
            breaks.update((t0, t1))
        for t, _mg, _c in inputs.impulses:
            breaks.add(t)
        edges = sorted(b for b in breaks if 0.0 <= b <= times[-1])
        out = np.zeros((len(times), 6))
        x = np.zeros(n)
        for a, b in zip(edges, edges[1:] + [None]):
            for t, mg, c in inputs.impulses:
                if t == a:
                    x[pos[c]] += mg
            u = np.zeros(n)
            for t0, t1, rate, c in inputs.infusions:
                if t0 <= a and (b is not None and b <= t1):
                    u[pos[c]] += rate
            lo = np.searchsorted(times, a, side="left")
            hi = len(times) if b is None else np.searchsorted(times, b, side="left")
            if hi > lo:
                states = self._propagate(x, u, times[lo:hi] - a)
                out[lo:hi][:, self.used] = states
            if b is not None:
                x = self._propagate(x, u, np.array([b - a]))[0]
        return out
