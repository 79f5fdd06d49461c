"""Data: the standard file formats read back what was written, the synthetic sets
follow their definitions, and the real sets load where installed."""

import gzip
import itertools
import math
import pickle
import struct

import numpy as np
import pytest
import scipy.io

from mlayer.data import images, series, synthetic

from .conftest import FASHION_MNIST, TEMPERATURES, need


def write_idx(path, array, compress=False):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_idx_files(tmp_path, rng, compress):
    arrays = {}
    for prefix, count in (("train", 6), ("t10k", 4)):
        x = rng.integers(0, 256, size=(count, 28, 28))
        y = rng.integers(0, 10, size=count)
        suffix = ".gz" if compress else ""
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}", x, compress)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", y, compress)
        arrays[prefix] = (x, y)
    data = images.load_mnist(tmp_path)
    assert data.train_x.shape == (6, 28, 28, 1) and data.features == 784
    np.testing.assert_array_equal(data.train_x[..., 0], arrays["train"][0])
    np.testing.assert_array_equal(data.test_y, arrays["t10k"][1])


def test_damaged_idx_is_refused(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.zeros((3, 4, 4)))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(
        ValueError, match=r"shape \(3, 4, 4\) \(64 bytes\) but it has 59"
    ):
        images.read_idx(path)
    path.write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="not an IDX file of unsigned bytes"):
        images.read_idx(path)
    with pytest.raises(FileNotFoundError, match="no train images in"):
        images.load_mnist(tmp_path)


def _cifar_rows(rng, count):
    return rng.integers(0, 256, size=(count, 3072)), rng.integers(0, 10, size=count)


def _expected_cifar(rows):
    # Row layout: 1024 red, 1024 green, 1024 blue, each row-major 32 x 32.
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def test_cifar10_binary(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows, labels = _cifar_rows(rng, 2)
        record = np.concatenate([labels[:, None], rows], axis=1).astype(np.uint8)
        (folder / f"{name}.bin").write_bytes(record.tobytes())
        batches[name] = (rows, labels)
    data = images.load_cifar10(tmp_path)
    assert data.train_x.shape == (10, 32, 32, 3) and data.features == 3072
    np.testing.assert_array_equal(
        data.train_x[:2], _expected_cifar(batches["data_batch_1"][0])
    )
    np.testing.assert_array_equal(data.test_y, batches["test_batch"][1])
    # The red channel of pixel (0, 1) is byte 1 of the row.
    assert data.train_x[0, 0, 1, 0] == batches["data_batch_1"][0][0, 1]


def test_cifar10_python_pickles(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows, labels = _cifar_rows(rng, 3)
        batch = {b"data": rows.astype(np.uint8), b"labels": labels.tolist()}
        (folder / name).write_bytes(pickle.dumps(batch))
    data = images.load_cifar10(folder)
    assert data.train_x.shape == (15, 32, 32, 3) and data.test_x.shape == (3, 32, 32, 3)


def test_cifar10_refuses_pickles_that_run_code(tmp_path):
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (tmp_path / name).write_bytes(pickle.dumps({b"data": math.sqrt}))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load math\.sqrt"):
        images.load_cifar10(tmp_path)


def test_svhn_mat_files(tmp_path, rng):
    for name, count in (("train_32x32.mat", 4), ("test_32x32.mat", 3)):
        x = rng.integers(0, 256, size=(32, 32, 3, count)).astype(np.uint8)
        y = np.array([10, 1, 9, 5][:count]).reshape(-1, 1)
        scipy.io.savemat(tmp_path / name, {"X": x, "y": y})
    data = images.load_svhn(tmp_path)
    assert data.train_x.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(data.train_y, [0, 1, 9, 5])  # 10 means digit 0


def test_fashion_mnist_as_installed():
    need(FASHION_MNIST, "Debian's dataset-fashion-mnist")
    data = images.load_fashion_mnist()
    assert data.train_x.shape == (60000, 28, 28, 1) and data.test_x.shape[0] == 10000
    assert sorted(np.unique(data.test_y)) == list(range(10))
    assert np.bincount(data.train_y).tolist() == [6000] * 10


def test_temperature_series():
    days, temps = series.load_temperatures(
        need(TEMPERATURES, "the temperature series in ../shared/data")
    )
    assert len(temps) == 3650 and temps[0] == 20.7 and days[0] == 0
    # 1981-1990 has 3652 days; the CSV leaves out the last day of the leap years.
    assert days[-1] == 3651
    smooth = series.moving_average(temps, 7)
    assert len(smooth) == 3644 and smooth[0] == pytest.approx(temps[:7].mean())


def test_bad_series_names_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('"Date","Temp"\n"1981-01-01",20.7\n"1981-01-02",x\n')
    with pytest.raises(ValueError, match="line 3: expected YYYY-MM-DD,temperature"):
        series.load_temperatures(path)


def test_spiral_definition(rng):
    x, y = synthetic.double_spiral(500, rng, noise=0.0)
    assert x.shape == (1000, 2) and np.bincount(y).tolist() == [500, 500]
    r = np.linalg.norm(x, axis=-1)
    assert r.max() <= 10 + 1e-9
    # Class 1 is class 0 turned by pi: same radii, opposite angle.
    angle0 = np.arctan2(x[:500, 1], x[:500, 0])
    t0 = r[:500] / 10 * 3 * math.pi  # radius grows with the angle travelled
    np.testing.assert_allclose(np.cos(angle0), np.cos(t0), atol=1e-9)
    far, _ = synthetic.spiral_continuation(100, rng, noise=0.0)
    assert np.linalg.norm(far, axis=-1).min() >= 10 - 1e-9


def test_permanent_by_ryser_equals_the_definition(rng):
    A = rng.standard_normal((20, 4, 4))
    brute = sum(
        np.prod([A[:, i, p[i]] for i in range(4)], axis=0)
        for p in itertools.permutations(range(4))
    )
    np.testing.assert_allclose(synthetic.permanent(A), brute, rtol=1e-12)


def test_zero_predictor_mse(rng):
    # E[det^2] = k!/3^k for U(-1, 1) entries: 2/9 for 3 x 3 (notes §2.3).
    assert synthetic.zero_predictor_mse(3, "determinant") == pytest.approx(2 / 9)
    A = synthetic.random_matrices(400_000, 3, rng)
    for f in (synthetic.determinant, synthetic.permanent):
        assert np.mean(f(A) ** 2) == pytest.approx(2 / 9, rel=0.01)


def test_cosines_closed_form():
    x = np.array([0.0, 0.25, 1.0])
    y = synthetic.cosines(x, [3.0, 4.0], [1.42, 6.29], [0.84, 0.76])
    expected = 1.42 * np.cos(6 * np.pi * x + 0.84) + 6.29 * np.cos(8 * np.pi * x + 0.76)
    np.testing.assert_allclose(y, expected, rtol=1e-15)
