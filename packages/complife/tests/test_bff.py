"""The BFF kernels against their pure-Python twin, and the edge cases of spec §2.1."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complife import languages
from complife.languages import bff

from .conftest import run_kernel, run_twin

BFF_NAMES = [v.name for v in bff.VARIANTS]


def command_bytes(name):
    variant = next(v for v in bff.VARIANTS if v.name == name)
    return [b for b in range(256) if variant.kind_of(b) <= bff.NULL]


@st.composite
def tapes(draw, name):
    """128-byte tapes rich in the variant's commands, so loops and copies happen."""
    commands = command_bytes(name)
    byte = st.one_of(st.sampled_from(commands), st.integers(0, 255))
    return bytes(draw(st.lists(byte, min_size=128, max_size=128)))


@pytest.mark.parametrize("name", BFF_NAMES)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_kernel_matches_twin(name, data):
    tape = data.draw(tapes(name))
    max_steps = data.draw(st.sampled_from([1, 2, 7, 64, 500, 8192]))
    assert run_kernel(name, tape, max_steps) == run_twin(name, tape, max_steps)


def pad(program: bytes) -> bytes:
    return program + bytes(128 - len(program))


@pytest.mark.parametrize("run", [run_kernel, run_twin])
class TestEdgeCases:
    """Hand-traced programs; the expected values follow from spec §2.1."""

    def test_unmatched_open_bracket_ends_the_run(self, run):
        # '<' wraps head0 to 127 (a zero), so '[' scans forward, finds no ']'.
        assert run("bff_noheads", pad(b"<[")) == (2, pad(b"<["))

    def test_unmatched_close_bracket_ends_the_run(self, run):
        # '+' turns tape[0] into ',' (non-zero); ']' scans back and finds no '['.
        assert run("bff_noheads", pad(b"+]")) == (2, pad(b",]"))

    def test_running_off_the_end(self, run):
        # 128 null bytes: every byte is visited, none is an op.
        assert run("bff_noheads", bytes(128)) == (0, bytes(128))

    def test_running_off_the_start(self, run):
        # bff8 jumps back 8 bytes from pc 3: the pc leaves the tape.
        assert run("bff8_noheads", pad(b"+\0\0]")) == (2, pad(b",\0\0]"))

    def test_step_limit(self, run):
        # '[' then ']' jumping back forever: every step is an op until the limit.
        assert run("bff_noheads", pad(b"[]")) == (8192, pad(b"[]"))
        assert run("bff_noheads", pad(b"[]"), 5) == (5, pad(b"[]"))

    def test_self_modified_brackets(self, run):
        # '-' makes a '[' out of '\\' (0x5C); ']' jumps back to it; the second '-'
        # unmakes it, so the next ']' finds no match. Steps: > \\ - ] - ], one no-op.
        assert run("bff_noheads", pad(b">\\-]")) == (5, pad(b">Z-]"))

    def test_heads_wrap_around(self, run):
        # bff takes its heads from bytes 0 and 1: head0 = 200 % 128 = 72; '<' x 73
        # moves it to -1, i.e. 127, where '+' adds one.
        tape = bytearray(pad(bytes([200, 5]) + b"<" * 73 + b"+"))
        expected = bytearray(tape)
        expected[127] = 1
        assert run("bff", bytes(tape)) == (74, bytes(expected))

    def test_selfmove_copy_advances_head1(self, run):
        # bff_selfmove: bytes 0, 1 put head0 at 0 and head1 at 1... then ',' (4)
        # copies tape[head1] to tape[head0] twice, advancing head1 each time.
        tape = pad(bytes([0, 1, 4, 0, 4]))
        # head0 = 0, head1 = 1. pc 2 ',': tape[0] = tape[1] = 1, head1 = 2.
        # pc 3 '>' (byte 0): head0 = 1. pc 4 ',': tape[1] = tape[2] = 4, head1 = 3.
        # Then 123 bytes of 0 ('>') are ops too.
        assert run("bff_selfmove", tape) == (126, bytes([1, 4, 4, 0, 4]) + bytes(123))


@pytest.mark.parametrize("name", ["bff_noheads", "bff", "bff8", "bff8_noheads"])
def test_text_form_is_lossless_for_ascii_variants(name):
    language = languages.get(name)
    everything = bytes(range(256))
    assert language.parse(language.format(everything)) == everything


def test_text_form_of_the_papers_replicator():
    # Paper Fig. 4: a palindrome that copies itself, reversed, into its partner.
    language = languages.get("bff_noheads")
    text = "[[{.>]-]                ]-]>.{[["
    program = language.parse(text.replace(" ", "0"))
    assert program[:8] == b"[[{.>]-]" and program[-8:] == b"]-]>.{[["
    assert language.format(program) == text.replace(" ", "0")


def test_text_form_stand_ins():
    language = languages.get("bff_noheads")
    assert language.format(bytes([0, 0xC4, 0xCC, 0xF1, 0xF3, 0x01, 0xFF])) == (
        "0AIJL\u0101\u01ff"
    )


def test_unknown_character_is_refused():
    with pytest.raises(ValueError, match="position 1"):
        languages.get("bff_noheads").parse("[x]")


def test_palette_of_the_reference():
    palette = languages.get("bff_noheads").palette
    assert tuple(palette[ord("[")]) == (0, 192, 0)
    assert tuple(palette[ord(".")]) == (200, 0, 200)
    assert tuple(palette[ord("{")]) == (200, 128, 220)
    assert tuple(palette[0]) == (255, 0, 0)
    assert tuple(palette[0x41]) == (192 + 0x41 // 4,) * 3


def test_unknown_language_names_the_choices():
    with pytest.raises(ValueError, match="bff_noheads"):
        languages.get("bff_nohead")


# Loops the kernel does not step through one byte at a time (bff._idle_loop,
# bff._busy_loop): bodies of head moves only, and copy loops that may write over
# their own code, with step limits that cut a pass short.
LOOP_BODIES = [
    "", "<", "{", "}", "{{", "{>", "}<}", "<,}", ".{>", ".<},", "<<,}>", "+", "-,",
    "{+", ",}", ".}", "-}.", "{{{{{{{{",
]  # fmt: skip


@st.composite
def loop_tapes(draw, name):
    """A tape of random bytes with a few loops of such bodies, no-ops between."""
    variant = next(v for v in bff.VARIANTS if v.name == name)
    language = languages.get(name)
    tape = bytearray(draw(st.binary(min_size=128, max_size=128)))
    for _ in range(draw(st.integers(1, 3))):
        body = draw(st.sampled_from(LOOP_BODIES))
        gaps = draw(st.lists(st.integers(0, 4), min_size=len(body) + 1))
        text = "[" + "".join(
            "\x01" * gap + c for gap, c in zip(gaps, body + "]", strict=False)
        )
        code = bytes(b"\x01"[0] if c == "\x01" else language.parse(c)[0] for c in text)
        # A byte of kind NOOP for the gaps (0x01 is a command in some variants).
        noop = next(b for b in range(1, 256) if variant.kind_of(b) == bff.NOOP)
        code = code.replace(b"\x01", bytes([noop]))
        start = draw(st.integers(0, 128 - len(code)))
        tape[start : start + len(code)] = code
    return bytes(tape)


@pytest.mark.parametrize("name", BFF_NAMES)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_loops_match_twin(name, data):
    tape = data.draw(loop_tapes(name))
    max_steps = data.draw(
        st.one_of(st.sampled_from([8192, 8191, 8190, 4097]), st.integers(1, 3000))
    )
    assert run_kernel(name, tape, max_steps) == run_twin(name, tape, max_steps)


class TestLoops:
    """Loops run to the step limit, whose op counts follow in closed form."""

    def test_empty_loop_runs_to_the_limit(self):
        # '+' makes tape[0] non-zero; then "[ab]" loops: each pass visits a, b, ']'
        # (3 steps, 1 op). 8192 - 2 steps are left after '+' and '['.
        tape = pad(b"+[ab]")
        ops = 2 + (8192 - 2) // 3
        assert run_kernel("bff_noheads", tape) == (ops, pad(b",[ab]"))
        assert run_twin("bff_noheads", tape) == (ops, pad(b",[ab]"))

    def test_cut_short_pass_counts_the_commands_it_reached(self):
        # Passes of "}a<]" are 4 steps, 3 ops; head0 moves down to a non-zero byte
        # each time (no byte is zero), so the loop never leaves.
        tape = b"[}a<]" + b"+" * 123
        for max_steps in (8192, 8193, 8194, 8195, 1000, 1001):
            passes, rest = divmod(max_steps - 1, 4)
            ops = 1 + 3 * passes + (rest >= 1) + (rest >= 3)
            assert run_kernel("bff_noheads", tape, max_steps)[0] == ops
            assert run_twin("bff_noheads", tape, max_steps)[0] == ops

    def test_head_scan_stops_at_a_zero(self):
        # "[>]" moves head0 right until it meets a zero byte at 100; the rest of the
        # tape is no-ops.
        tape = bytearray(b"a" * 128)
        tape[0:3] = b"[>]"
        tape[100] = 0
        ops = 1 + 2 * 100
        assert run_kernel("bff_noheads", bytes(tape)) == (ops, bytes(tape))
        assert run_twin("bff_noheads", bytes(tape)) == (ops, bytes(tape))

    def test_copy_loop_that_overwrites_its_own_code(self):
        # ',' copies tape[head1 = 0] to head0, which '>' moves up: the second pass
        # writes ',' over the loop's own '[' at 1, so its ']' has no match.
        tape = bytearray(b"+[,>]" + bytes(123))
        expected = (8, b",,,>]" + bytes(123))
        assert run_kernel("bff_noheads", bytes(tape)) == expected
        assert run_twin("bff_noheads", bytes(tape)) == expected

    def test_copy_loop_that_turns_its_own_bracket_around(self):
        # '<' takes head0 from 0 to the ']' at 127; the second pass's '.' copies
        # that ']' over the loop's own '[' (head1 stays at 0). The bracket mask is
        # as before, but the ']' at 127 has lost its match, which ends the run.
        tape = b"[aa.<" + b"a" * 122 + b"]"
        expected = (7, b"]" + tape[1:])
        for max_steps in (8192, 258):
            assert run_kernel("bff_noheads", tape, max_steps) == expected
            assert run_twin("bff_noheads", tape, max_steps) == expected

    def test_copy_loop_that_rewrites_its_code_with_the_same_commands(self):
        # 4-bit BFF: eight '}' put head1 8 bytes above head0, then "[,>}]" copies
        # tape[i + 8] to tape[i]. At i = 8 it copies bytes 0x16 0x1B 0x1D 0x1F 0x17
        # over its own 0x06 0x0B 0x0D 0x0F 0x07: new bytes, the same commands.
        code = bytes([0x06, 0x0B, 0x0D, 0x0F, 0x07])
        same = bytes([0x16, 0x1B, 0x1D, 0x1F, 0x17])
        tape = b"\x0f" * 8 + code + b"\x21" * 3 + same + b"\x21" * 107
        result = run_kernel("bff_noheads_4bit", tape)
        assert result == run_twin("bff_noheads_4bit", tape)
        assert result[1][:5] == same
