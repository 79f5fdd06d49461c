"""The M-layer: a matrix exponential as a network's only nonlinearity
(Fischbacher, Comsa, Potempa, Firsching, Versari, Alakuijala, "Intelligent Matrix
Exponentiation", arXiv 2008.03936).

``MLayer(D, d, n, h)(x) = V + S · expm(B + T · (U x + u))``, batched, on any device,
with the paper's initialisation and activity regulariser (:mod:`mlayer.layer`); an
exact, fast-to-differentiate matrix exponential and the cheap
``(I + M/2^k)^(2^k)`` (:mod:`mlayer.expm`); the robustness certificate
(:mod:`mlayer.certify`); the paper's hand-built layers
(:mod:`mlayer.constructions`); and its experiments (``mlayer train TASK``).
"""

__version__ = "0.1.0"

from mlayer.certify import certified_radius, lipschitz_bound
from mlayer.checkpoint import load_model
from mlayer.expm import ExpmOverflowError, expm, expm_squaring, matrix_exp
from mlayer.layer import (
    MLayer,
    count_parameters,
    init_negative_diagonal,
    init_rotations,
)
from mlayer.mlp import MLP

__all__ = [
    "MLP",
    "ExpmOverflowError",
    "MLayer",
    "__version__",
    "certified_radius",
    "count_parameters",
    "expm",
    "expm_squaring",
    "init_negative_diagonal",
    "init_rotations",
    "lipschitz_bound",
    "load_model",
    "matrix_exp",
]
