"""The SUBLEQ and RSUBLEQ4 kernels against their pure-Python twins, and the edge
cases of spec §2.3."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complife import languages
from complife.languages import Step

from .conftest import run_kernel, run_twin

NAMES = ["subleq", "rsubleq4"]


# Bytes that make things happen: addresses near both ends (and the same plus 128,
# which wrap), branch targets that stay on the tape or just leave it, the signed
# extremes, and short relative jumps both ways, including 0.
INTERESTING = [
    *range(8),
    *range(120, 136),
    0x7F,
    0xF8,
    0xFC,
    0xFE,
    0xFF,
]


@st.composite
def tapes(draw, size=128):
    byte = st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255))
    return bytes(draw(st.lists(byte, min_size=size, max_size=size)))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_kernel_matches_twin(name, data):
    tape = data.draw(tapes())
    max_steps = data.draw(st.sampled_from([1, 2, 7, 64, 500, 8192]))
    assert run_kernel(name, tape, max_steps) == run_twin(name, tape, max_steps)


def tape_with(*parts: tuple[int, bytes]) -> bytes:
    """A zero tape with the given bytes put at the given offsets."""
    out = bytearray(128)
    for at, data in parts:
        out[at : at + len(data)] = data
    return bytes(out)


@pytest.mark.parametrize("run", [run_kernel, run_twin])
class TestSubleq:
    """Hand-traced SUBLEQ programs; the expected values follow from spec §2.3."""

    def test_branch_past_the_last_instruction_ends_the_run(self, run):
        # tape[16] -= tape[16] is 0: branch to 126, where 126 + 3 > 128.
        tape = tape_with((0, b"\x10\x10\x7e"))
        assert run("subleq", tape) == (1, tape)

    def test_branch_to_the_last_instruction_runs_it(self, run):
        # Branch to 125: the instruction 125-127 fits, runs, and branches to 255.
        tape = tape_with((0, b"\x10\x10\x7d"), (125, b"\x10\x10\xff"))
        assert run("subleq", tape) == (2, tape)

    def test_positive_result_falls_through(self, run):
        # 5 - 3 = 2 > 0: on to pc 3, where 0 <= 0 branches to 255.
        tape = tape_with((0, b"\x10\x11\x00\x12\x12\xff"), (16, b"\x05\x03"))
        assert run("subleq", tape) == (2, tape_with((0, tape[:16]), (16, b"\x02\x03")))

    def test_result_is_signed(self, run):
        # 0x81 - 1 = 0x80, which is -128 as an int8: branch to 255.
        tape = tape_with((0, b"\x10\x11\xff"), (16, b"\x81\x01"))
        assert run("subleq", tape) == (1, tape_with((0, tape[:16]), (16, b"\x80\x01")))

    def test_operands_wrap(self, run):
        # 0x90 and 0x91 address bytes 16 and 17: 5 - 9 wraps to 252, negative.
        tape = tape_with((0, b"\x90\x91\xff"), (16, b"\x05\x09"))
        assert run("subleq", tape) == (1, tape_with((0, tape[:16]), (16, b"\xfc\x09")))

    def test_branch_target_is_read_after_the_write(self, run):
        # The instruction writes its own target: tape[2] = 0 - 7 = 249, then the
        # branch reads 249 and leaves (reading it before would loop at 0).
        tape = tape_with((0, b"\x02\x03\x00\x07"))
        assert run("subleq", tape) == (1, tape_with((0, b"\x02\x03\xf9\x07")))

    def test_step_limit(self, run):
        # All zeros: tape[0] -= tape[0], branch to tape[2] = 0, forever.
        assert run("subleq", bytes(128)) == (8192, bytes(128))
        assert run("subleq", bytes(128), 5) == (5, bytes(128))


@pytest.mark.parametrize("run", [run_kernel, run_twin])
class TestRsubleq4:
    """Hand-traced RSUBLEQ4 programs; the expected values follow from spec §2.3."""

    def test_negative_jump_off_the_start(self, run):
        # pc 0: tape[16] = 0 - 0, jump +4; pc 4: tape[20] = 0, jump -8 to -4.
        tape = tape_with((0, b"\x10\x10\x10\x04\x10\x10\x10\xf8"))
        assert run("rsubleq4", tape) == (2, tape)

    def test_negative_jump_back_loops(self, run):
        # As above, but jump -4 from pc 4 back to 0: the step limit ends it.
        tape = tape_with((0, b"\x10\x10\x10\x04\x10\x10\x10\xfc"))
        assert run("rsubleq4", tape) == (8192, tape)

    def test_zero_offset_loops_until_the_step_limit(self, run):
        # All zeros: tape[0] = tape[0] - tape[0] is 0, jump by 0, forever.
        assert run("rsubleq4", bytes(128)) == (8192, bytes(128))
        assert run("rsubleq4", bytes(128), 7) == (7, bytes(128))

    def test_jump_past_the_last_instruction_ends_the_run(self, run):
        # tape[16] = 0, jump +125: 125 + 4 > 128.
        tape = tape_with((0, b"\x10\x10\x10\x7d"))
        assert run("rsubleq4", tape) == (1, tape)

    def test_operands_are_relative_and_wrap(self, run):
        # Jump +124 to the last instruction that fits. There A, B, C are
        # 124 + 16, 17, 18 mod 128 = 12, 13, 14: tape[12] = 7 - 0 > 0, so pc += 4
        # leaves the tape.
        tape = tape_with(
            (0, b"\x10\x10\x10\x7c"), (13, b"\x07"), (124, b"\x10\x11\x12")
        )
        assert run("rsubleq4", tape) == (
            2,
            tape_with((0, tape[:12]), (12, b"\x07\x07"), (124, tape[124:])),
        )

    def test_offset_is_read_after_the_write(self, run):
        # The instruction writes its own offset: tape[3] = 0 - 16 = -16, then the
        # jump by -16 leaves (reading it before would loop in place).
        tape = tape_with((0, b"\x03\x10\x11\x00"), (17, b"\x10"))
        assert run("rsubleq4", tape) == (
            1,
            tape_with((0, b"\x03\x10\x11\xf0"), (17, b"\x10")),
        )


def test_tracers_report_the_operand_addresses():
    tape = bytearray(tape_with((0, b"\x10\x11\x00\x12\x12\xff"), (16, b"\x05\x03")))
    run = languages.get("subleq").steps(tape, 8192)
    assert list(run) == [Step(0, 0, (16, 17)), Step(1, 3, (18, 18))]

    tape = bytearray(tape_with((0, b"\x10\x10\x10\x04\x10\x10\x10\xf8")))
    run = languages.get("rsubleq4").steps(tape, 8192)
    assert list(run) == [Step(0, 0, (16, 16, 16)), Step(1, 4, (20, 20, 20))]


@pytest.mark.parametrize("name", NAMES)
def test_text_form_round_trips(name):
    language = languages.get(name)
    everything = bytes(range(256))
    assert language.format(everything) == everything.hex().upper()
    assert language.parse(language.format(everything)) == everything
    assert language.parse("0a7FfC") == b"\x0a\x7f\xfc"


@pytest.mark.parametrize("name", NAMES)
def test_text_form_refuses_bad_characters(name):
    with pytest.raises(ValueError, match=r"'g' at position 2"):
        languages.get(name).parse("10g1")
    with pytest.raises(ValueError, match=r"'1' at position 2"):
        languages.get(name).parse("101")


@pytest.mark.parametrize("name", NAMES)
def test_palette_is_the_reference_ramp(name):
    palette = languages.get(name).palette
    assert tuple(palette[0]) == (0, 0, 255)
    assert tuple(palette[0x13]) == (0x13, 0, 0xEC)
    assert tuple(palette[255]) == (255, 0, 0)
