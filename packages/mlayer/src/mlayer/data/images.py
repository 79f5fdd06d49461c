"""Image classification sets from a local copy in their standard formats (paper
§4.4, Table 1). Nothing is downloaded: give the folder that holds the files.

=============  ===========================================  =====================
set            files                                        where to get them
=============  ===========================================  =====================
MNIST          ``{train,t10k}-{images-idx3,labels-idx1}``   yann.lecun.com mirrors
               ``-ubyte`` (optionally ``.gz``)
Fashion-MNIST  the same names                               Debian
                                                            ``dataset-fashion-mnist``
CIFAR-10       ``cifar-10-batches-bin/*.bin`` or            cs.toronto.edu
               ``cifar-10-batches-py/*_batch*``
SVHN           ``{train,test}_32x32.mat`` (format 2)        ufldl.stanford.edu
=============  ===========================================  =====================

Images come back as uint8 arrays (N, H, W, C), labels as int64 (N,).
"""

from __future__ import annotations

import gzip
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


@dataclass
class ImageSet:
    name: str
    train_x: np.ndarray  # (N, H, W, C) uint8
    train_y: np.ndarray  # (N,) int64
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]

    @property
    def features(self) -> int:
        """Inputs per image once flattened: H W C."""
        return int(np.prod(self.train_x.shape[1:]))


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """An array in the IDX format of MNIST (big-endian header, unsigned bytes),
    plain or gzip-compressed."""
    path = Path(path)
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(
            f"{path} is not an IDX file of unsigned bytes (it starts with "
            f"{data[:4].hex()}, expected 0000 08 then the number of dimensions)"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f"{path}: its header says shape {shape} ({expected} bytes) but it has "
            f"{len(data)} bytes; the file is truncated or damaged"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find(root: Path, stems: list[str], what: str) -> Path:
    for stem in stems:
        for suffix in ("", ".gz"):
            path = root / (stem + suffix)
            if path.is_file():
                return path
    raise FileNotFoundError(
        f"no {what} in {root}: looked for {', '.join(stems)} (plain or .gz); give "
        "the folder that holds the files"
    )


def _load_idx_set(root: str | Path, name: str, classes: list[str]) -> ImageSet:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{name} folder {root} does not exist")
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _find(
            root,
            [f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte"],
            f"{split} images",
        )
        labels = _find(
            root,
            [f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels.idx1-ubyte"],
            f"{split} labels",
        )
        x, y = read_idx(images), read_idx(labels)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{images} and {labels} do not match: shapes {x.shape} and {y.shape}"
            )
        arrays[split] = (x[..., None], y.astype(np.int64))
    return ImageSet(name, *arrays["train"], *arrays["test"], classes)


def load_mnist(root: str | Path) -> ImageSet:
    """MNIST from its four IDX files in ``root``."""
    return _load_idx_set(root, "MNIST", MNIST_CLASSES)


def load_fashion_mnist(root: str | Path = FASHION_MNIST_ROOT) -> ImageSet:
    """Fashion-MNIST from its four IDX files (Debian's dataset-fashion-mnist
    installs them in /usr/share/datasets/fashion-mnist)."""
    return _load_idx_set(root, "Fashion-MNIST", FASHION_MNIST_CLASSES)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays, nothing that runs code."""

    ALLOWED: ClassVar = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a CIFAR-10 batch holds only arrays"
        )


def _cifar_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = _ArraysOnly(f, encoding="bytes").load()
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    return data, labels


def _cifar_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        raise ValueError(
            f"{path} has {raw.size} bytes, not a whole number of 3073-byte CIFAR-10 "
            "records (1 label byte + 3072 pixel bytes)"
        )
    rows = raw.reshape(-1, 3073)
    return rows[:, 1:], rows[:, 0].astype(np.int64)


def load_cifar10(root: str | Path) -> ImageSet:
    """CIFAR-10 from ``root``: the binary version (``cifar-10-batches-bin``) or the
    Python version (``cifar-10-batches-py``), or either folder itself."""
    root = Path(root)
    layouts = [
        (root / "cifar-10-batches-bin", ".bin", _cifar_binary_batch),
        (root, ".bin", _cifar_binary_batch),
        (root / "cifar-10-batches-py", "", _cifar_python_batch),
        (root, "", _cifar_python_batch),
    ]
    for folder, suffix, read in layouts:
        train = [folder / f"data_batch_{i}{suffix}" for i in range(1, 6)]
        test = folder / f"test_batch{suffix}"
        if all(p.is_file() for p in [*train, test]):
            parts = [read(p) for p in train]
            train_x = np.concatenate([x for x, _ in parts])
            train_y = np.concatenate([y for _, y in parts])
            test_x, test_y = read(test)
            return ImageSet(
                "CIFAR-10",
                _cifar_images(train_x),
                train_y,
                _cifar_images(test_x),
                test_y,
                CIFAR10_CLASSES,
            )
    raise FileNotFoundError(
        f"no CIFAR-10 batches in {root}: expected data_batch_1..5 and test_batch "
        "(.bin, or the Python pickles) in it or in cifar-10-batches-{bin,py}/"
    )


def _cifar_images(rows: np.ndarray) -> np.ndarray:
    """(N, 3072) channel-planar rows -> (N, 32, 32, 3)."""
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()


def load_svhn(root: str | Path) -> ImageSet:
    """SVHN (cropped digits, format 2) from ``train_32x32.mat`` and
    ``test_32x32.mat`` in ``root``; label 10 (digit 0) becomes 0."""
    from scipy.io import loadmat

    root = Path(root)
    splits = []
    for name in ("train_32x32.mat", "test_32x32.mat"):
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(
                f"no {name} in {root}: SVHN's format-2 files train_32x32.mat and "
                "test_32x32.mat are needed"
            )
        mat = loadmat(path)
        if "X" not in mat or "y" not in mat or mat["X"].shape[:3] != (32, 32, 3):
            raise ValueError(f"{path} does not hold SVHN's X (32, 32, 3, N) and y")
        x = np.ascontiguousarray(mat["X"].transpose(3, 0, 1, 2), dtype=np.uint8)
        y = mat["y"].reshape(-1).astype(np.int64) % 10
        splits += [x, y]
    return ImageSet("SVHN", *splits, MNIST_CLASSES)
