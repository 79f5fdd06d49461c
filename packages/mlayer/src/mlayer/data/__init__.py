"""Data of the paper's experiments: synthetic sets drawn from a seed
(:mod:`mlayer.data.synthetic`), the temperature series
(:mod:`mlayer.data.series`) and image sets read from a local path in their
standard formats (:mod:`mlayer.data.images`). Nothing is downloaded."""

from mlayer.data.images import (
    ImageSet,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    load_svhn,
)
from mlayer.data.series import load_temperatures
from mlayer.data.synthetic import cosines, double_spiral, random_matrices

__all__ = [
    "ImageSet",
    "cosines",
    "double_spiral",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "load_svhn",
    "load_temperatures",
    "random_matrices",
]
