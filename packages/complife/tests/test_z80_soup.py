"""The Z80 soup (§5): text form, a hand-written replicator, the engine, the CLI."""

import numpy as np
import pytest

from complife import languages
from complife.cli import main
from complife.languages import z80 as core
from complife.z80.disasm import decode, disassemble, mnemonics
from complife.z80.soup import Z80Soup, Z80SoupConfig, most_common, tiles
from tests import z80_oracle

#: A PUSH-based replicator: INC SP makes SP 0, so PUSHes fill the tape from its
#: end; HL walks down the program and every word read is pushed 16 bytes higher.
REPLICATOR = bytes.fromhex("33 211000 0608 2B 56 2B 5E D5 10F9 76 0000")


def test_the_replicator_reads_as_written():
    assert mnemonics(REPLICATOR) == (
        "INC SP; LD HL,$0010; LD B,$08; DEC HL; LD D,(HL); DEC HL; LD E,(HL); "
        "PUSH DE; DJNZ $-5; HALT; NOP; NOP"
    )


def test_push_replicator_copies_itself_into_its_neighbour():
    rng = np.random.default_rng(0)
    for _ in range(20):
        tape = REPLICATOR + rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        steps, after = languages.run(languages.get("z80"), tape, 128)
        assert after == REPLICATOR + REPLICATOR
        assert steps == 1 + 1 + 1 + 8 * 6 + 1  # the last step is HALT


def test_disassembler_lengths_agree_with_the_oracle():
    if not z80_oracle.available():
        pytest.skip("the PyPI Z80 package (test extra) is absent")
    rng = np.random.default_rng(1)
    machines = {"z80": z80_oracle.z80.Z80Machine, "i8080": z80_oracle.z80.I8080Machine}
    for mode, machine in machines.items():
        for first in range(256):
            for second in range(256) if first in (0xCB, 0xDD, 0xED, 0xFD) else [0]:
                code = bytes([first, second]) + bytes(rng.integers(0, 256, 4))
                if mode == "i8080":
                    code = code[:1] + code[2:]
                elif first in (0xDD, 0xFD) and second in (0xDD, 0xFD, 0xED):
                    assert decode(code) == (f"({first:02X})", 1)
                    continue
                assert decode(code, 0, mode)[1] == machine._disasm(code)[1], code.hex()


def test_disassembly_of_known_programs():
    assert mnemonics(bytes.fromhex("DD7E05DDCB0506FDCB0246ED B0"), "z80") == (
        "LD A,(IX+5); RLC (IX+5); BIT 0,(IY+2); LDIR"
    )
    assert mnemonics(bytes.fromhex("CB3412D9DD0000F5"), "i8080") == (
        "JMP* $1234; RET*; CALL* $0000; PUSH PSW"
    )
    # an instruction cut by the end of the program shows as bytes
    assert disassemble(bytes.fromhex("0021"))[1] == (1, b"\x21", "DB $21")


def test_bad_input_is_one_line():
    with pytest.raises(ValueError, match="unknown CPU mode 'z81'; expected one of"):
        core.check_mode("z81")
    with pytest.raises(ValueError, match="tape is 33 bytes; a z80 pair tape is 32"):
        languages.run(languages.get("z80"), bytes(33), 10)
    with pytest.raises(ValueError, match="unknown CPU mode"):
        Z80Soup(Z80SoupConfig(width=8, height=8, max_pairs=16, mode="6502"))


def test_cli_bad_input(capsys, tmp_path):
    assert main(["z80", "disasm", "00", "--mode", "z81"]) == 2
    assert main(["exec", "z80", "00" * 33]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("complife z80: error: unknown CPU mode 'z81'")
    assert err[1] == "complife exec: error: program is 33 bytes; the tape holds 32"


def _small(seed=5, mode="z80"):
    return Z80SoupConfig(width=16, height=12, seed=seed, max_pairs=96, mode=mode)


def test_pairs_are_disjoint_neighbours():
    soup = Z80Soup(_small())
    for batch in range(5):
        pairs = soup.pairs_of_batch(batch)
        assert len(np.unique(pairs)) == pairs.size
        dx = np.abs(pairs[:, 0] % 16 - pairs[:, 1] % 16)
        dy = np.abs(pairs[:, 0] // 16 - pairs[:, 1] // 16)
        assert ((dx + dy) == 1).all()


def test_a_batch_is_the_slow_obvious_one():
    """Pairs run as the registry kernel runs them, then pairs // 16 bytes change."""
    soup = Z80Soup(_small())
    soup.run_batch()
    expected = Z80Soup(_small())
    pairs = expected.pairs_of_batch(0)
    for i, j in pairs:
        tape = expected.programs[i].tobytes() + expected.programs[j].tobytes()
        _, after = languages.run(languages.get("z80"), tape, 128)
        expected.programs[i] = np.frombuffer(after[:16], np.uint8)
        expected.programs[j] = np.frombuffer(after[16:], np.uint8)
    changed = (soup.programs != expected.programs).sum()
    assert changed <= len(pairs) // 16


def test_the_soup_is_seeded_and_thread_independent():
    from numba import config, set_num_threads

    runs = []
    for threads in (1, min(2, config.NUMBA_NUM_THREADS)):
        set_num_threads(threads)
        soup = Z80Soup(_small())
        for _ in range(6):
            soup.run_batch()
        runs.append(soup.programs.copy())
    set_num_threads(1)
    assert (runs[0] == runs[1]).all()
    other = Z80Soup(_small(seed=6))
    other.run_batch()
    assert (other.programs != runs[0]).any()


def test_run_folder_resumes_exactly(tmp_path):
    common = ["z80", "run", "--width", "16", "--height", "12", "--seed", "2",
              "--report-every", "5", "--save-every", "10"]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "a"), "--batches", "20"]) == 0
    assert main([*common, "--out", str(tmp_path / "b"), "--batches", "10"]) == 0
    assert main([*common, "--out", str(tmp_path / "b"), "--batches", "20"]) == 2
    assert main([*common, "--out", str(tmp_path / "b"), "--batches", "20",
                 "--resume"]) == 0  # fmt: skip
    a = np.load(tmp_path / "a/checkpoints/0000000020.npz")["programs"]
    b = np.load(tmp_path / "b/checkpoints/0000000020.npz")["programs"]
    assert (a == b).all()
    assert (tmp_path / "b/soup.png").exists()
    text = (tmp_path / "b/top_programs.txt").read_text()
    assert "after 20 batches" in text and "\nfamilies (within 4 edits" in text


def test_tiles_and_most_common():
    programs = np.zeros((6, 16), np.uint8)
    programs[1, 5] = 0x76
    image = tiles(programs, core.palette(), 3)
    assert image.shape == (8, 12, 3)
    assert (image[1, 4 + 1] == core.palette()[0x76]).all()
    nop = core.palette()[0]
    assert (image[0, 0] == nop).all() and (image[1, 0] == nop).all()
    assert most_common(programs, 1) == [(bytes(16), 5)]


# ---------------------------------------------------------------------------------
# Families (complife.z80.families)

#: A block-copy replicator: LD HL,0; LD DE,16; LD BC,16; LDIR; HALT.
BLOCK_COPY = bytes.fromhex("210000 111000 011000 EDB0 76 00000000")
TWO_BYTE = bytes.fromhex("01C5") * 8  # LD BC,$01C5; PUSH BC (the run's first)


def _shift(program: bytes) -> bytes:
    return program[1:] + program[:1]


def _hand_made_soup():
    """Two families with known members, and unrelated singletons."""
    from complife.replicators import edit_distance_py

    rng = np.random.default_rng(7)
    block_variant = BLOCK_COPY[:13] + b"\x55\x55\x00"  # 2 substitutions
    rows = (
        [TWO_BYTE] * 6 + [_shift(TWO_BYTE)] * 3  # the other phase: 2 edits
        + [TWO_BYTE[:5] + b"\xd8" + TWO_BYTE[6:]] * 2  # 1 substitution
        + [BLOCK_COPY] * 4 + [block_variant] * 2
    )  # fmt: skip
    singles = []
    while len(singles) < 5:
        p = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        if all(edit_distance_py(p, q) > 4 for q in set(rows) | set(singles)):
            singles.append(p)
    programs = np.frombuffer(b"".join(rows + singles), np.uint8).reshape(-1, 16)
    return programs, block_variant


def test_families_of_a_hand_made_soup():
    from complife.z80 import families as fam

    programs, block_variant = _hand_made_soup()
    found = fam.families(programs, "z80", 128, seed=3)
    assert [f.founder for f in found] == [TWO_BYTE, BLOCK_COPY]
    assert [(f.count, f.variants) for f in found] == [(11, 3), (6, 2)]
    assert found[0].members == [
        (TWO_BYTE, 6),
        (_shift(TWO_BYTE), 3),
        (TWO_BYTE[:5] + b"\xd8" + TWO_BYTE[6:], 2),
    ]
    assert found[1].members == [(BLOCK_COPY, 4), (block_variant, 2)]
    # the block copy copies itself into every random partner; the two-byte one
    # into most (it runs on into the partner's random bytes before it wraps round)
    assert found[1].score == fam.TRIALS
    assert fam.TRIALS // 2 < found[0].score <= fam.TRIALS
    assert [fam.kind(f.founder) for f in found] == ["stack push", "block copy"]
    # with no tolerance for edits each distinct program is its own family
    exact = fam.families(programs, "z80", 128, distance=0)
    assert [(f.count, f.variants) for f in exact] == [(6, 1), (4, 1), (3, 1),
                                                      (2, 1), (2, 1)]  # fmt: skip


def test_copies_and_kind_of_non_replicators():
    from complife.z80 import families as fam

    halt = bytes([0x76]) * 16
    assert fam.copies(halt, "z80", 128) == 0
    assert fam.kind(halt) == "other"
    # a block copy that stops after 8 bytes leaves half the partner random
    short = bytes.fromhex("210000 111000 010800 EDB0 76 00000000")
    assert fam.copies(short, "z80", 128) == 0
    assert fam.copies(BLOCK_COPY, "z80", 128) == fam.TRIALS
    assert fam.kind(bytes.fromhex("C5") * 16, "i8080") == "stack push"


def test_families_cli_and_first_seen(tmp_path, capsys):
    from complife.z80.cli import save_checkpoint

    programs, _ = _hand_made_soup()
    soup = Z80Soup(Z80SoupConfig(width=len(programs), height=2, max_pairs=4))
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    # batch 10: the block copy only; batch 20: the whole hand-made soup
    soup.programs[:] = np.frombuffer(BLOCK_COPY, np.uint8)
    soup.batch = 10
    save_checkpoint(folder, soup)
    soup.programs[:] = 0x76
    soup.programs[: len(programs)] = programs
    soup.batch = 20
    save_checkpoint(folder, soup)
    assert main(["z80", "families", str(folder), "--members", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(f"{2 * len(programs)} programs after 20 batches")
    assert out[1].startswith("family 1: 22 programs (50.0 %), 1 variants, other")
    assert "first seen 20" in out[1] and "copies into 0/8" in out[1]
    assert out[3].startswith("family 2: 11 programs")
    assert "stack push, copies into" in out[3] and "first seen 20" in out[3]
    assert out[4] == f"        6  {TWO_BYTE.hex().upper()}  {mnemonics(TWO_BYTE)}"
    assert out[5].startswith(f"        3  {_shift(TWO_BYTE).hex().upper()}  PUSH BC")
    assert "block copy" in out[6] and "first seen 10" in out[6]
    assert main(["z80", "families", str(tmp_path / "nothing")]) == 2
    assert main(["z80", "families", str(folder), "--distance", "16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "does not exist; give a run folder or .npz file" in err[0]
    assert "expected a distance of 0 to 15 edits" in err[1]
