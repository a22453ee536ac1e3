"""The one-patient PK engine against the fastest exact numpy method I could write for the same
piecewise-constant input (issue 18, goal 4). Prints times and the ratio; not a test.

Reference: superposition of the exact unit-step response. On a uniform grid with every input
change on a grid point, the central amount is a sum over rate changes of the rate change times
the step response s(t - t_change), where s(jh) = sum_m c_m (exp(λ_m jh) - 1)/λ_m: one table of
s over the grid, then one shifted add per rate change. It computes the central compartment only
and needs changes on the grid; the engine computes every compartment at any times (it must
also serve off-grid changes, impulses and absorption depots), so the comparison favours the
reference. Both are timed alternating, best of R runs each (other processes share the machine).

Run:  python bench/pk_engine.py [R]      (default 200)
Target: engine <= 1.5 x the reference.
"""

import sys
import time

import numpy as np

from ketadose.pk.engine import CENTRAL, Inputs, Solver, system_matrix
from ketadose.pk.models import MODELS

R = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def course(weight):
    # Schwartzman 2009 shape: 4 h a day for 10 days at min(0.35 mg/kg/h, 25 mg/h), in mg/min
    rate = min(0.35 * weight, 25.0) / 60
    return [(d * 1440.0, d * 1440.0 + 240.0, rate) for d in range(10)]


class Superposition:
    """Central amount (mg) on grid = arange(N) * h for IV infusions starting and ending on it."""

    def __init__(self, params):
        k = system_matrix(params, None)
        used = [1, 2, 3]  # central, two peripherals (Domino 1984: no metabolite)
        lam, vec = np.linalg.eig(k[np.ix_(used, used)])
        self.lam = lam.real
        inv = np.linalg.inv(vec)
        self.coef = (vec[0] * inv[:, 0]).real  # central row x central input column

    def run(self, infusions, n_points, h):
        jh = np.arange(n_points) * h
        step = (np.expm1(np.outer(jh, self.lam)) / self.lam) @ self.coef  # s(jh)
        out = np.zeros(n_points)
        for t0, t1, rate in infusions:
            for t, sign in ((t0, rate), (t1, -rate)):
                j = int(round(t / h))
                if j < n_points:
                    out[j:] += sign * step[:n_points - j]
        return out


def best(fn) -> float:
    t = []
    for _ in range(R):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    weight, h = 72.0, 1.0
    params = MODELS["domino-1984"].params(weight)
    infusions = course(weight)
    grid = np.arange(0.0, 11 * 1440.0 + h / 2, h)
    inputs = Inputs(tuple((a, b, r, CENTRAL) for a, b, r in infusions))
    solver, ref = Solver(params), Superposition(params)
    exact = solver.run(inputs, grid)[:, CENTRAL]
    mine = ref.run(infusions, len(grid), h)
    err = np.abs(exact - mine).max() / exact.max()
    t_engine, t_ref = [], []
    for _ in range(5):  # alternate blocks so that a load from elsewhere falls on both
        t_engine.append(best(lambda: solver.run(inputs, grid)))
        t_ref.append(best(lambda: ref.run(infusions, len(grid), h)))
    e, r = min(t_engine), min(t_ref)
    print(f"10-day course + 1 day at 1-min resolution ({len(grid):,} points), Domino 1984, "
          f"{weight:g} kg; best of {5 * R} runs each")
    print(f"engine (every compartment, any input times): {e * 1000:.3f} ms")
    print(f"reference superposition (central only, changes on the grid): {r * 1000:.3f} ms")
    print(f"ratio engine / reference: {e / r:.2f} (target <= 1.5); largest difference "
          f"{err:.1e} of the peak (both exact)")


if __name__ == "__main__":
    main()
