"""curve_fit, drop-in
==================

lmfast.curve_fit as a drop-in for scipy.optimize.curve_fit (unbounded, method 'lm').

Fits a Gaussian on a constant background, once with forward differences and once with
an analytic Jacobian, and with SciPy installed shows that both libraries agree and how
long each takes.

    python examples/curve_fit_dropin.py
"""

import time

import numpy as np

from lmfast import curve_fit


def gauss(x, a, mu, s, c):
    return a * np.exp(-0.5 * ((x - mu) / s) ** 2) + c


def gauss_jac(x, a, mu, s, c):
    t = (x - mu) / s
    e = np.exp(-0.5 * t * t)
    return np.stack([e, a * e * t / s, a * e * t * t / s, np.ones_like(x)], axis=1)


def time_per_call(fit, repeat=2000):
    start = time.perf_counter()
    for _ in range(repeat):
        fit()
    return (time.perf_counter() - start) / repeat


def main():
    rng = np.random.default_rng(0)
    x = np.linspace(-5.0, 5.0, 128)
    y = gauss(x, 3.0, 0.4, 1.2, 0.5) + 0.05 * rng.standard_normal(x.size)
    p0 = [2.0, 0.0, 1.0, 0.0]

    popt, pcov = curve_fit(gauss, x, y, p0=p0)
    perr = np.sqrt(np.diag(pcov))
    for name, value, error in zip(["a", "mu", "s", "c"], popt, perr):
        print(f"{name:>2} = {value:.5f} +/- {error:.5f}")

    try:
        from scipy.optimize import curve_fit as scipy_curve_fit
    except ImportError:
        return
    print()
    for label, jac in (("differences", None), ("analytic jac", gauss_jac)):
        ours = curve_fit(gauss, x, y, p0=p0, jac=jac)
        ref = scipy_curve_fit(gauss, x, y, p0=p0, jac=jac)
        same = np.allclose(ours[0], ref[0], rtol=1e-10) and np.allclose(ours[1], ref[1])
        t_lm = time_per_call(lambda jac=jac: curve_fit(gauss, x, y, p0=p0, jac=jac))
        t_sp = time_per_call(lambda jac=jac: scipy_curve_fit(gauss, x, y, p0=p0, jac=jac))
        print(
            f"{label:13s} same result as SciPy: {same}   "
            f"lmfast {t_lm * 1e6:6.1f} us, SciPy {t_sp * 1e6:6.1f} us ({t_sp / t_lm:.2f}x)"
        )


if __name__ == "__main__":
    main()
