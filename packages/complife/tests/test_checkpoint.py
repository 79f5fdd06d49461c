"""The reference's .dat format (spec §6): round trips, strict reading, atomic writes."""

import numpy as np
import pytest

from complife.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_name,
    latest_checkpoint,
    read_checkpoint,
    write_checkpoint,
)


def test_round_trip_and_layout(tmp_path, rng):
    programs = rng.integers(0, 256, (6, 64), dtype=np.uint8)
    path = write_checkpoint(tmp_path / checkpoint_name(64), Checkpoint(3, 65, programs))
    assert path.name == "0000000064.dat"
    raw = path.read_bytes()
    assert raw[:24] == (3).to_bytes(8, "little") + (6).to_bytes(8, "little") + (
        65
    ).to_bytes(8, "little")
    assert raw[24:] == programs.tobytes()
    back = read_checkpoint(path)
    assert (back.reset_index, back.next_epoch) == (3, 65)
    assert np.array_equal(back.programs, programs)
    assert [p.name for p in tmp_path.iterdir()] == ["0000000064.dat"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:10],
        lambda raw: raw[:-1],
        lambda raw: raw + b"\0",
        lambda raw: b"\x89PNG\r\n\x1a\n" + raw[8:],
        lambda raw: raw[:8] + (5).to_bytes(8, "little") + raw[16:],
    ],
    ids=["header-cut", "soup-cut", "trailing", "foreign", "odd-count"],
)
def test_damaged_files_are_refused(tmp_path, damage):
    good = write_checkpoint(
        tmp_path / "good.dat", Checkpoint(1, 1, np.zeros((4, 64), np.uint8))
    )
    bad = tmp_path / "bad.dat"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(CheckpointError, match=r"bad\.dat"):
        read_checkpoint(bad)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.dat")


def test_latest_checkpoint_by_epoch(tmp_path):
    for epoch in (0, 256, 64):
        write_checkpoint(
            tmp_path / checkpoint_name(epoch),
            Checkpoint(1, epoch + 1, np.zeros((2, 64), np.uint8)),
        )
    (tmp_path / "notes.dat").write_bytes(b"x")
    assert latest_checkpoint(tmp_path).name == "0000000256.dat"
    assert latest_checkpoint(tmp_path / "empty") is None


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0)
    os.umask(umask)
    path = write_checkpoint(
        tmp_path / "a.dat", Checkpoint(1, 1, np.zeros((2, 64), np.uint8))
    )
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
