"""Computational Life: soups of self-modifying programs in which self-replicators
emerge with no fitness function (Agüera y Arcas et al., arXiv 2406.19108).

The soup, its languages and its metrics reproduce the reference implementation
(cubff) bit for bit; see ``complife.soup.Soup`` for the Python API and
``complife run --help`` for the command line.
"""

__version__ = "0.1.0"

from complife.simulation import Report, RunConfig, Simulation
from complife.soup import Soup

__all__ = ["Report", "RunConfig", "Simulation", "Soup", "__version__"]
