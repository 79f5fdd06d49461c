"""Slow, obvious float64 twins of the library's kernels, used only as oracles."""

import numpy as np
import scipy.linalg


def mlayer(params: dict, x: np.ndarray) -> np.ndarray:
    """``V + S · expm(B + T · (U x + u))`` one example at a time, by loops and
    SciPy's expm (paper §3.2, eqs. 2-3). ``params`` holds numpy arrays; U, u and B
    may be absent."""
    T, S, V = params["T"], params["S"], params["V"]
    d, n, _ = T.shape
    h = S.shape[0]
    out = np.empty((len(x), h))
    for b, example in enumerate(x):
        v = example if params.get("U") is None else params["U"] @ example + params["u"]
        M = np.zeros((n, n)) if params.get("B") is None else params["B"].copy()
        for a in range(d):
            M += T[a] * v[a]
        E = scipy.linalg.expm(M)
        for m in range(h):
            out[b, m] = V[m] + np.sum(S[m] * E)
    return out


def params_of(layer) -> dict:
    return {
        k: (None if v is None else v.detach().double().numpy())
        for k, v in (
            ("U", layer.U),
            ("u", layer.u),
            ("T", layer.T),
            ("B", layer.B),
            ("S", layer.S),
            ("V", layer.V),
        )
    }
