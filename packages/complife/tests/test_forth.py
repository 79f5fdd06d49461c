"""The Forth kernels against their pure-Python twin, and the edge cases of spec §2.2."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complife import languages
from complife.languages import Step, forth
from complife.rng import MASK64, splitmix64_py

from .conftest import run_kernel, run_twin

FORTH_NAMES = [v.name for v in forth.VARIANTS]
NOOP = 0x20


# Bytes that make things happen: every low op, the reset byte, small constants (valid
# addresses and values), short jumps both ways (loops), and a no-op.
INTERESTING = [
    *range(0x0E),
    forth.RESET_BYTE,
    *range(0x40, 0x50),
    0x7F,
    0x80,
    0x81,
    0x83,
    0xBF,
    0xC0,
    0xC1,
    0xC2,
    0xC4,
    0xFF,
    NOOP,
]


@st.composite
def tapes(draw, size=128):
    """Tapes rich in ops, so that stacks fill, writes land, jumps loop and runs end
    in every way."""
    byte = st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255))
    return bytes(draw(st.lists(byte, min_size=size, max_size=size)))


@pytest.mark.parametrize("name", FORTH_NAMES)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_kernel_matches_twin(name, data):
    tape = data.draw(tapes())
    max_steps = data.draw(st.sampled_from([1, 2, 7, 64, 500, 8192]))
    assert run_kernel(name, tape, max_steps) == run_twin(name, tape, max_steps)


def pad(program: bytes) -> bytes:
    """The program followed by no-ops up to a whole pair tape."""
    return program + bytes([NOOP]) * (128 - len(program))


def put(tape: bytes, at: int, value: int) -> bytes:
    out = bytearray(tape)
    out[at] = value
    return bytes(out)


@pytest.mark.parametrize("run", [run_kernel, run_twin])
class TestEdgeCases:
    """Hand-traced programs; the expected values follow from spec §2.2. A program is
    padded with no-ops (0x20), which take steps but are not ops."""

    def test_empty_stack_pops_give_zero(self, run):
        # WRITE0 pops value 0 and address 0: byte 0 becomes 0. Then 127 no-ops.
        assert run("forth", pad(b"\x02")) == (1, pad(b"\x00"))

    def test_ops_on_an_empty_stack_push(self, run):
        # INC pops 0 and pushes 1; SWAP pops 1 and 0, pushes 1 then 0; WRITE0 pops
        # value 0 and address 1: byte 1 (SWAP) becomes 0.
        assert run("forth", pad(b"\x08\x06\x02")) == (3, pad(b"\x08\x00\x02"))

    def test_const_overflow_ends_the_run(self, run):
        # CONST 0, JMP -1, 128 times fills the stack; the 129th CONST overflows.
        assert run("forth", pad(b"\x40\xc0")) == (2 * 128 + 1, pad(b"\x40\xc0"))

    def test_dup_overflow_ends_the_run(self, run):
        # DUP on an empty stack leaves two zeros, each later DUP one more; the DUP
        # that finds 128 values pops one, pushes it back, and overflows.
        assert run("forth", pad(b"\x04\xc0")) == (2 * 127 + 1, pad(b"\x04\xc0"))

    def test_jump_off_the_start(self, run):
        # JMP -1 from byte 0: relative to the jump byte, so the pc is -1.
        assert run("forth", pad(b"\xc0")) == (1, pad(b"\xc0"))

    def test_jump_off_the_end(self, run):
        # 120 no-ops, then JMP +8 from byte 120 lands on 128.
        tape = put(pad(b""), 120, 0x87)
        assert run("forth", tape) == (1, tape)

    def test_jump_to_the_last_byte(self, run):
        # JMP +7 from byte 120 lands on 127, a CONST: two ops, then off the end.
        tape = put(put(pad(b""), 120, 0x86), 127, 0x41)
        assert run("forth", tape) == (2, tape)

    def test_if0_skips_after_a_non_zero(self, run):
        # CONST 1; IF0 keeps the 1 and skips CONST 5; WRITE0 pops value 1, then
        # address 0 (empty stack).
        assert run("forth", pad(b"\x41\x07\x45\x02")) == (3, pad(b"\x01\x07\x45\x02"))

    def test_if0_runs_on_after_a_zero(self, run):
        # CONST 0; IF0 keeps the 0; CONST 5; WRITE0: tape[0] = 5.
        assert run("forth", pad(b"\x40\x07\x45\x02")) == (4, pad(b"\x05\x07\x45\x02"))

    def test_if0_skip_off_the_end(self, run):
        # IF0 at byte 126 with a 1 on the stack skips byte 127: the pc is 128.
        tape = put(put(pad(b"\x41"), 126, 0x07), 127, 0x42)
        assert run("forth", tape) == (2, tape)

    def test_sub_is_top_minus_second(self, run):
        # CONST 16, CONST 3, CONST 5, SUB: 5 - 3 = 2; WRITE0: tape[16] = 2; JMP -7
        # leaves the tape before the pc reaches the written byte.
        program = b"\x50\x43\x45\x0b\x02\xc6"
        assert run("forth", pad(program)) == (6, put(pad(program), 16, 2))

    def test_sub_wraps(self, run):
        # CONST 16, CONST 5, CONST 3, SUB: 3 - 5 = 254; WRITE0: tape[16] = 254.
        program = b"\x50\x45\x43\x0b\x02\xc6"
        assert run("forth", pad(program)) == (6, put(pad(program), 16, 254))

    def test_write1_and_read1_address_the_second_half(self, run):
        # CONST 5, CONST 9, WRITE1: tape[64 + 5] = 9. CONST 5, READ1 pushes it back,
        # CONST 6, SWAP, WRITE0: tape[6] = 9. JMP -9 leaves the tape.
        program = b"\x45\x49\x03\x45\x01\x46\x06\x02\xc8"
        expected = put(put(pad(program), 69, 9), 6, 9)
        assert run("forth", pad(program)) == (9, expected)

    def test_forthcopy_copies_across_the_whole_tape(self, run):
        # CONST 63, XOR 64 gives 127; DEC gives 126: from = 126. CONST 2: to = 2.
        # COPY: tape[2] = tape[126], a no-op byte put there as a marker.
        program = b"\x7f\x03\x09\x42\x02"
        tape = put(pad(program), 126, 0x3A)
        assert run("forthcopy", tape) == (5, put(tape, 2, 0x3A))

    def test_forthtrivial_copy0_and_copy1(self, run):
        # CONST 10, COPY0: tape[74] = tape[10]; CONST 6, COPY1: tape[6] = tape[70].
        # The copied bytes are no-op markers, so the rest of the run is no-ops.
        program = b"\x4a\x0c\x46\x0d"
        tape = put(put(pad(program), 10, 0x3B), 70, 0x39)
        expected = put(put(tape, 74, 0x3B), 6, 0x39)
        assert run("forthtrivial", tape) == (4, expected)

    def test_step_limit(self, run):
        # DROP, JMP -1 forever: every step is an op until the limit.
        assert run("forth", pad(b"\x05\xc0")) == (8192, pad(b"\x05\xc0"))
        assert run("forth", pad(b"\x05\xc0"), 5) == (5, pad(b"\x05\xc0"))

    def test_no_ops_take_steps_but_are_not_ops(self, run):
        # No-op, JMP -1 forever: half of the 8192 steps are ops.
        assert run("forth", pad(b"\x20\xc0")) == (4096, pad(b"\x20\xc0"))
        assert run("forth", pad(b"\x20\xc0"), 5) == (2, pad(b"\x20\xc0"))


def scrambled(tape: bytes, pc: int) -> bytes:
    """The reset rule written out from spec §2.2: a SplitMix64 chain over the 128
    bytes seeds the 64 new bytes of the first half."""
    seed = 0
    for b in tape:
        seed = splitmix64_py(seed ^ b)
    first = bytes(
        splitmix64_py((seed * 64 * 64 + pc * 64 + i) & MASK64) & 255 for i in range(64)
    )
    return first + tape[64:]


@pytest.mark.parametrize("run", [run_kernel, run_twin])
class TestReset:
    """``forthtrivial_reset``: writing onto a 0x13 in the second half is cancelled
    and scrambles the first half, hashed from the tape and the pc."""

    def test_write1_onto_0x13_scrambles_the_first_half(self, run):
        # CONST 5, CONST 42, WRITE1 at pc 2 targets tape[69] = 0x13. The run stops
        # after it, before the new bytes run.
        tape = put(pad(b"\x45\x6a\x03"), 69, 0x13)
        assert run("forthtrivial_reset", tape, 3) == (3, scrambled(tape, 2))
        assert run("forthtrivial", tape, 3) == (3, put(tape, 69, 42))

    def test_copy0_onto_0x13_scrambles_the_first_half(self, run):
        # A no-op first moves the COPY0 to pc 2.
        tape = put(pad(b"\x20\x45\x0c"), 69, 0x13)
        assert run("forthtrivial_reset", tape, 3) == (2, scrambled(tape, 2))
        assert run("forthtrivial", tape, 3) == (2, put(tape, 69, 0x20))

    def test_other_targets_are_written(self, run):
        # As above with the 0x13 one byte further: 42 (a no-op) is written.
        tape = put(pad(b"\x45\x6a\x03"), 70, 0x13)
        expected = put(tape, 69, 42)
        assert run("forthtrivial_reset", tape) == (3, expected)

    def test_copy1_never_resets(self, run):
        # COPY1 writes the first half; a 0x13 at its source is simply copied.
        tape = put(pad(b"\x45\x0d"), 69, 0x13)
        assert run("forthtrivial_reset", tape) == (2, put(tape, 5, 0x13))


def test_scramble_twin_matches_the_formula():
    tape = bytearray(range(128))
    forth.scramble_first_half(tape, 17)
    assert bytes(tape) == scrambled(bytes(range(128)), 17)


def test_tracer_reports_pc_and_stack_before_each_step():
    tape = bytearray(pad(b"\x41\x42\x0a\xc3"))
    run = languages.get("forth").steps(tape, 8192)
    trace = []
    with pytest.raises(StopIteration) as done:
        while True:
            trace.append(next(run))
    assert trace == [
        Step(0, 0, stack=()),
        Step(1, 1, stack=(1,)),
        Step(2, 2, stack=(1, 2)),
        Step(3, 3, stack=(3,)),
    ]
    assert done.value.value == 4


@pytest.mark.parametrize("name", FORTH_NAMES)
def test_text_form_round_trips(name):
    language = languages.get(name)
    everything = bytes(range(256))
    assert language.format(everything) == everything.hex().upper()
    assert language.parse(language.format(everything)) == everything
    assert language.parse("4c0aFf") == b"\x4c\x0a\xff"


def test_text_form_refuses_a_non_hex_character():
    with pytest.raises(ValueError, match=r"'x' at position 3"):
        languages.get("forth").parse("4C0x")


def test_text_form_refuses_an_odd_length():
    with pytest.raises(ValueError, match=r"'0' at position 4"):
        languages.get("forthtrivial").parse("4C0A0")


def test_palette_of_forth_and_forthcopy():
    for name in ("forth", "forthcopy"):
        palette = languages.get(name).palette
        assert tuple(palette[0x00]) == (0, 128, 255)
        assert tuple(palette[0x0B]) == (11, 128, 244)
        assert tuple(palette[0x0C]) == (12, 0, 243)
        assert tuple(palette[0xFF]) == (255, 0, 0)


def test_palette_of_forthtrivial():
    # Checked against the reference's own --draw_to pictures.
    for name in ("forthtrivial", "forthtrivial_reset"):
        palette = languages.get(name).palette
        assert tuple(palette[0x00]) == (0x73, 0x01, 0xCE)
        assert tuple(palette[0x0D]) == (0x73, 0x01, 0xCE)
        assert tuple(palette[0x04]) == (0x4E, 0x10, 0x01)
        assert tuple(palette[0x07]) == (0, 0, 0)
        assert tuple(palette[0x0E]) == (2, 138, 55)
        assert tuple(palette[0x3F]) == (2, 110, 44)
        assert tuple(palette[0x40]) == (255, 255, 255)
        assert tuple(palette[0x7F]) == (204, 204, 204)
        assert tuple(palette[0x80]) == (148, 217, 255)
        assert tuple(palette[0xBF]) == (118, 174, 204)
        assert tuple(palette[0xC0]) == (255, 119, 125)
        assert tuple(palette[0xFF]) == (204, 95, 100)
