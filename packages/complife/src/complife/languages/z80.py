"""Z80 and 8080 cores: the real instruction sets of the paper's 8-bit soups (§5).

The paper's Z80 soup (public as znah/zff) runs pairs of 16-byte programs as one
32-byte tape on a freshly reset Z80; its 8080 soup is one long tape (benlaurie/
bff-ben). This module is the processor: one instruction per call of
:func:`z80_step` or :func:`i8080_step`, on a machine state kept in an int64 array
(the register indices below) and a memory that is the tape itself.

What the soup needs of a processor, and how these cores provide it:

- **Memory is the tape.** Every 16-bit address is taken modulo the tape length (a
  power of two), offset by ``state[BASE]`` (0 for a pair tape; the start of the run
  on a long tape), so code wraps round and every write lands on the tape.
- **Input reads 0**; output goes nowhere. No interrupt is ever raised.
- **HALT ends the run**: the HALT instruction counts as a step and is the last one.
- **A step is one instruction.** A Z80 instruction is its prefixes and opcode (``DD
  CB d op`` is one step). A DD or FD prefix followed by another DD, FD or ED byte
  is a step of its own that does nothing but take 4 cycles and refresh R: the real
  Z80 ignores such a prefix, and so does the PyPI ``Z80`` emulator the tests compare
  with. (znah/zff's patched emulator instead swallows both prefixes; we follow the
  chip.) ``state[CYCLES]`` counts T-states as the Zilog and Intel manuals give them.
- **Exact flags**, including the undocumented X and Y bits (3 and 5) and MEMPTR
  (``state[WZ]``), which leaks into them through ``BIT n,(HL)``; the undocumented
  instructions (SLL, IXH/IXL/IYH/IYL halves, DDCB results copied to a register,
  ED duplicates of NEG, RETN and IM) are there.
- **8080 mode** (:func:`i8080_step`) is the 8080 proper: S Z 0 AC 0 P 1 C flags
  with parity (never overflow) in P, the 8080's rules for AC, rotates that touch only
  the carry, and its alternate opcodes: 08 10 18 20 28 30 38 are NOP, CB is JMP, D9
  is RET, DD ED FD are CALL. There are no prefixes, no IX/IY, no R.

Reset (both modes, as znah/zff resets its Z80): PC = 0, SP = FFFF, A = FF, F = FF
(8080: D5, the flag bits only; its fixed bits 1, 3 and 5 show when F is pushed),
every other register 0, interrupts off.

The kernels are checked step by step against the PyPI ``Z80`` package (Ivan
Kosarev's emulator, which passes zexall and 8080exm) in ``tests/test_z80_core.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------------
# Machine state: one int64 array, so a kernel allocates nothing per interaction.

# 8-bit registers in the Z80's operand encoding (r = 0..7; 6 is (HL), so F sits there)
B, C, D, E, H, L, F, A = 0, 1, 2, 3, 4, 5, 6, 7
IX, IY, SP, PC, WZ, I, R = 8, 9, 10, 11, 12, 13, 14  # noqa: E741
IFF1, IFF2, IM, HALTED, BASE = 15, 16, 17, 18, 19
ALT = 20  # B' C' D' E' H' L' F' A' at ALT + r
CYCLES, STEPS = 28, 29
STATE_SIZE = 32

MODES = ("z80", "i8080")

# Flag bits (Z80; the 8080 uses S Z H(=AC) P C at the same places)
FLAG_S, FLAG_Z, FLAG_Y, FLAG_H = 0x80, 0x40, 0x20, 0x10
FLAG_X, FLAG_P, FLAG_N, FLAG_C = 0x08, 0x04, 0x02, 0x01


def _flag_tables():
    """S, Z, Y, X and even parity of every byte: the flags most results set."""
    szyx = np.zeros(256, dtype=np.int64)
    parity = np.zeros(256, dtype=np.int64)
    for v in range(256):
        szyx[v] = (v & (FLAG_S | FLAG_Y | FLAG_X)) | (FLAG_Z if v == 0 else 0)
        parity[v] = FLAG_P if bin(v).count("1") % 2 == 0 else 0
    return szyx, parity


SZYX, PARITY = _flag_tables()
SZYXP = SZYX | PARITY

# T-states of the unprefixed opcodes (Zilog manual); conditional jumps, calls and
# returns add their "taken" extra in the code. 0 marks a prefix.
# fmt: off
CYCLES_MAIN = np.array([
    4, 10, 7, 6, 4, 4, 7, 4, 4, 11, 7, 6, 4, 4, 7, 4,
    8, 10, 7, 6, 4, 4, 7, 4, 12, 11, 7, 6, 4, 4, 7, 4,
    7, 10, 16, 6, 4, 4, 7, 4, 7, 11, 16, 6, 4, 4, 7, 4,
    7, 10, 13, 6, 11, 11, 10, 4, 7, 11, 13, 6, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    7, 7, 7, 7, 7, 7, 4, 7, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    5, 10, 10, 10, 10, 11, 7, 11, 5, 10, 10, 0, 10, 17, 7, 11,
    5, 10, 10, 11, 10, 11, 7, 11, 5, 4, 10, 11, 10, 0, 7, 11,
    5, 10, 10, 19, 10, 11, 7, 11, 5, 4, 10, 4, 10, 0, 7, 11,
    5, 10, 10, 4, 10, 11, 7, 11, 5, 6, 10, 4, 10, 0, 7, 11,
], dtype=np.int64)

# T-states of the 8080 (Intel 8080 manual); conditional calls and returns add theirs
CYCLES_8080 = np.array([
    4, 10, 7, 5, 5, 5, 7, 4, 4, 10, 7, 5, 5, 5, 7, 4,
    4, 10, 7, 5, 5, 5, 7, 4, 4, 10, 7, 5, 5, 5, 7, 4,
    4, 10, 16, 5, 5, 5, 7, 4, 4, 10, 16, 5, 5, 5, 7, 4,
    4, 10, 13, 5, 10, 10, 10, 4, 4, 10, 13, 5, 5, 5, 7, 4,
    5, 5, 5, 5, 5, 5, 7, 5, 5, 5, 5, 5, 5, 5, 7, 5,
    5, 5, 5, 5, 5, 5, 7, 5, 5, 5, 5, 5, 5, 5, 7, 5,
    5, 5, 5, 5, 5, 5, 7, 5, 5, 5, 5, 5, 5, 5, 7, 5,
    7, 7, 7, 7, 7, 7, 7, 7, 5, 5, 5, 5, 5, 5, 7, 5,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    4, 4, 4, 4, 4, 4, 7, 4, 4, 4, 4, 4, 4, 4, 7, 4,
    5, 10, 10, 10, 11, 11, 7, 11, 5, 10, 10, 10, 11, 17, 7, 11,
    5, 10, 10, 10, 11, 11, 7, 11, 5, 10, 10, 10, 11, 17, 7, 11,
    5, 10, 10, 18, 11, 11, 7, 11, 5, 5, 10, 5, 11, 17, 7, 11,
    5, 10, 10, 4, 11, 11, 7, 11, 5, 5, 10, 4, 11, 17, 7, 11,
], dtype=np.int64)
# fmt: on


# ---------------------------------------------------------------------------------
# Memory, fetch and stack: every address is taken modulo the tape length


@njit(inline="always")
def _rd(mem, st, addr):
    return np.int64(mem[(st[BASE] + addr) & (mem.size - 1)])


@njit(inline="always")
def _wr(mem, st, addr, value):
    mem[(st[BASE] + addr) & (mem.size - 1)] = value & 0xFF


@njit(inline="always")
def _fetch(mem, st):
    pc = st[PC]
    st[PC] = (pc + 1) & 0xFFFF
    return _rd(mem, st, pc)


@njit(inline="always")
def _fetch16(mem, st):
    low = _fetch(mem, st)
    return low | (_fetch(mem, st) << 8)


@njit(inline="always")
def _rd16(mem, st, addr):
    return _rd(mem, st, addr) | (_rd(mem, st, (addr + 1) & 0xFFFF) << 8)


@njit(inline="always")
def _wr16(mem, st, addr, value):
    _wr(mem, st, addr, value)
    _wr(mem, st, (addr + 1) & 0xFFFF, value >> 8)


@njit(inline="always")
def _push(mem, st, value):
    sp = (st[SP] - 1) & 0xFFFF
    _wr(mem, st, sp, value >> 8)
    sp = (sp - 1) & 0xFFFF
    _wr(mem, st, sp, value)
    st[SP] = sp


@njit(inline="always")
def _pop(mem, st):
    sp = st[SP]
    value = _rd(mem, st, sp) | (_rd(mem, st, (sp + 1) & 0xFFFF) << 8)
    st[SP] = (sp + 2) & 0xFFFF
    return value


@njit(inline="always")
def _bump_r(st):
    """R counts opcode fetches (M1 cycles) in its low 7 bits."""
    st[R] = (st[R] & 0x80) | ((st[R] + 1) & 0x7F)


# ---------------------------------------------------------------------------------
# Registers: pairs, and the H/L halves that a DD/FD prefix turns into IX/IY halves


@njit(inline="always")
def _pair(st, hi):
    return (st[hi] << 8) | st[hi + 1]


@njit(inline="always")
def _set_pair(st, hi, value):
    st[hi] = (value >> 8) & 0xFF
    st[hi + 1] = value & 0xFF


@njit(inline="always")
def _hl(st, idx):
    """HL, IX or IY for idx 0, 1, 2."""
    if idx == 0:
        return _pair(st, H)
    return st[IX + idx - 1]


@njit(inline="always")
def _set_hl(st, idx, value):
    if idx == 0:
        _set_pair(st, H, value)
    else:
        st[IX + idx - 1] = value & 0xFFFF


@njit(inline="always")
def _get_r(st, r, idx):
    """8-bit register r (not 6); with a prefix H and L mean the index halves."""
    if idx != 0 and (r == H or r == L):
        x = st[IX + idx - 1]
        return (x >> 8) if r == H else (x & 0xFF)
    return st[r]


@njit(inline="always")
def _set_r(st, r, idx, value):
    if idx != 0 and (r == H or r == L):
        x = st[IX + idx - 1]
        if r == H:
            st[IX + idx - 1] = (x & 0x00FF) | ((value & 0xFF) << 8)
        else:
            st[IX + idx - 1] = (x & 0xFF00) | (value & 0xFF)
    else:
        st[r] = value & 0xFF


@njit(inline="always")
def _get_rp(st, p, idx):
    """Register pair p of the opcode table: BC DE HL(IX/IY) SP."""
    if p == 0:
        return _pair(st, B)
    if p == 1:
        return _pair(st, D)
    if p == 2:
        return _hl(st, idx)
    return st[SP]


@njit(inline="always")
def _set_rp(st, p, idx, value):
    if p == 0:
        _set_pair(st, B, value)
    elif p == 1:
        _set_pair(st, D, value)
    elif p == 2:
        _set_hl(st, idx, value)
    else:
        st[SP] = value & 0xFFFF


@njit(inline="always")
def _cond(st, cc):
    """Condition cc of the opcode table: NZ Z NC C PO PE P M."""
    f = st[F]
    bit = (FLAG_Z, FLAG_C, FLAG_P, FLAG_S)[cc >> 1]
    taken = (f & bit) != 0
    return taken if cc & 1 else not taken


# ---------------------------------------------------------------------------------
# Z80 arithmetic and its flags


@njit
def _alu(st, op, v):
    """ADD ADC SUB SBC AND XOR OR CP of A and v (op 0..7), with the Z80's flags."""
    a = st[A]
    if op <= 1:  # ADD, ADC
        c = st[F] & FLAG_C if op == 1 else 0
        res = a + v + c
        r8 = res & 0xFF
        st[F] = (SZYX[r8] | ((a ^ v ^ res) & FLAG_H)
                 | ((((a ^ ~v) & (a ^ res)) & 0x80) >> 5) | (res >> 8))  # fmt: skip
        st[A] = r8
    elif op == 2 or op == 3 or op == 7:  # SUB, SBC, CP
        c = st[F] & FLAG_C if op == 3 else 0
        res = a - v - c
        r8 = res & 0xFF
        flags = ((a ^ v ^ res) & FLAG_H) | ((((a ^ v) & (a ^ res)) & 0x80) >> 5)
        flags |= FLAG_N | ((res >> 8) & FLAG_C)
        if op == 7:  # CP: the X and Y bits come from the operand
            st[F] = flags | (SZYX[r8] & (FLAG_S | FLAG_Z)) | (v & (FLAG_X | FLAG_Y))
        else:
            st[F] = flags | SZYX[r8]
            st[A] = r8
    elif op == 4:  # AND
        r8 = a & v
        st[F] = SZYXP[r8] | FLAG_H
        st[A] = r8
    elif op == 5:  # XOR
        r8 = a ^ v
        st[F] = SZYXP[r8]
        st[A] = r8
    else:  # OR
        r8 = a | v
        st[F] = SZYXP[r8]
        st[A] = r8


@njit(inline="always")
def _inc8(st, v):
    r8 = (v + 1) & 0xFF
    flags = (st[F] & FLAG_C) | SZYX[r8]
    if (r8 & 0x0F) == 0:
        flags |= FLAG_H
    if r8 == 0x80:
        flags |= FLAG_P
    st[F] = flags
    return r8


@njit(inline="always")
def _dec8(st, v):
    r8 = (v - 1) & 0xFF
    flags = (st[F] & FLAG_C) | SZYX[r8] | FLAG_N
    if (v & 0x0F) == 0:
        flags |= FLAG_H
    if r8 == 0x7F:
        flags |= FLAG_P
    st[F] = flags
    return r8


@njit
def _rot(st, op, v):
    """The CB-page shifts RLC RRC RL RR SLA SRA SLL SRL (op 0..7) of v."""
    c = st[F] & FLAG_C
    if op == 0:
        out = v >> 7
        r8 = ((v << 1) | out) & 0xFF
    elif op == 1:
        out = v & 1
        r8 = (v >> 1) | (out << 7)
    elif op == 2:
        out = v >> 7
        r8 = ((v << 1) | c) & 0xFF
    elif op == 3:
        out = v & 1
        r8 = (v >> 1) | (c << 7)
    elif op == 4:
        out = v >> 7
        r8 = (v << 1) & 0xFF
    elif op == 5:
        out = v & 1
        r8 = (v >> 1) | (v & 0x80)
    elif op == 6:  # SLL, undocumented: shifts a 1 in
        out = v >> 7
        r8 = ((v << 1) | 1) & 0xFF
    else:
        out = v & 1
        r8 = v >> 1
    st[F] = SZYXP[r8] | out
    return r8


@njit(inline="always")
def _bit(st, n, v, xy):
    """BIT n,v; the X and Y flags come from ``xy`` (v itself, or MEMPTR's high
    byte for a memory operand)."""
    flags = (st[F] & FLAG_C) | FLAG_H | (xy & (FLAG_X | FLAG_Y))
    masked = v & (1 << n)
    if masked == 0:
        flags |= FLAG_Z | FLAG_P
    if masked & 0x80:
        flags |= FLAG_S
    st[F] = flags


@njit
def _add16(st, idx, v):
    hl = _hl(st, idx)
    res = hl + v
    st[WZ] = (hl + 1) & 0xFFFF
    st[F] = ((st[F] & (FLAG_S | FLAG_Z | FLAG_P)) | ((res >> 8) & (FLAG_X | FLAG_Y))
             | (((hl ^ v ^ res) >> 8) & FLAG_H) | (res >> 16))  # fmt: skip
    _set_hl(st, idx, res & 0xFFFF)


@njit
def _adc_sbc16(st, v, subtract):
    hl = _pair(st, H)
    c = st[F] & FLAG_C
    if subtract:
        res = hl - v - c
        over = ((hl ^ v) & (hl ^ res) & 0x8000) >> 13
        flags = FLAG_N | ((res >> 16) & FLAG_C)
    else:
        res = hl + v + c
        over = ((hl ^ ~v) & (hl ^ res) & 0x8000) >> 13
        flags = (res >> 16) & FLAG_C
    r16 = res & 0xFFFF
    flags |= over | (((hl ^ v ^ res) >> 8) & FLAG_H) | ((r16 >> 8) & 0xA8)
    if r16 == 0:
        flags |= FLAG_Z
    st[F] = flags
    st[WZ] = (hl + 1) & 0xFFFF
    _set_pair(st, H, r16)


@njit
def _daa(st):
    a = st[A]
    f = st[F]
    diff = 0
    carry = f & FLAG_C
    if (f & FLAG_H) or (a & 0x0F) > 9:
        diff = 6
    if carry or a > 0x99:
        diff |= 0x60
        carry = FLAG_C
    if f & FLAG_N:
        half = FLAG_H if (f & FLAG_H) and (a & 0x0F) < 6 else 0
        r8 = (a - diff) & 0xFF
    else:
        half = FLAG_H if (a & 0x0F) > 9 else 0
        r8 = (a + diff) & 0xFF
    st[A] = r8
    st[F] = SZYXP[r8] | (f & FLAG_N) | half | carry


# ---------------------------------------------------------------------------------
# The Z80 instruction pages


@njit
def _exec_cb(mem, st, idx, addr):
    """The CB page; with a prefix the operand is (IX+d) at ``addr`` and a register
    target also receives the result (undocumented)."""
    op = _fetch(mem, st) if idx == 0 else _rd(mem, st, (st[PC] - 1) & 0xFFFF)
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    if idx == 0:
        _bump_r(st)
    if idx == 0 and z != 6:
        v = st[z]
        if x == 0:
            st[z] = _rot(st, y, v)
        elif x == 1:
            _bit(st, y, v, v)
        elif x == 2:
            st[z] = v & ~(1 << y)
        else:
            st[z] = v | (1 << y)
        return 8
    if idx == 0:
        addr = _pair(st, H)
    v = _rd(mem, st, addr)
    if x == 1:
        _bit(st, y, v, st[WZ] >> 8)
        return 12 if idx == 0 else 20
    if x == 0:
        res = _rot(st, y, v)
    elif x == 2:
        res = v & ~(1 << y)
    else:
        res = v | (1 << y)
    _wr(mem, st, addr, res)
    if idx != 0 and z != 6:
        st[z] = res & 0xFF
    return 15 if idx == 0 else 23


@njit
def _exec_ed(mem, st):
    """The ED page; its holes are 8-cycle no-ops."""
    op = _fetch(mem, st)
    _bump_r(st)
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    if x == 1:
        if z == 0:  # IN r,(C): reads 0
            v = 0
            st[WZ] = (_pair(st, B) + 1) & 0xFFFF
            st[F] = (st[F] & FLAG_C) | SZYXP[v]
            if y != 6:
                st[y] = v
            return 12
        if z == 1:  # OUT (C),r; (C),0 for y = 6
            st[WZ] = (_pair(st, B) + 1) & 0xFFFF
            return 12
        if z == 2:
            _adc_sbc16(st, _get_rp(st, y >> 1, 0), (y & 1) == 0)
            return 15
        if z == 3:
            nn = _fetch16(mem, st)
            st[WZ] = (nn + 1) & 0xFFFF
            if y & 1:
                _set_rp(st, y >> 1, 0, _rd16(mem, st, nn))
            else:
                _wr16(mem, st, nn, _get_rp(st, y >> 1, 0))
            return 20
        if z == 4:  # NEG
            v = st[A]
            st[A] = 0
            _alu(st, 2, v)
            return 8
        if z == 5:  # RETN, RETI
            st[IFF1] = st[IFF2]
            st[PC] = _pop(mem, st)
            st[WZ] = st[PC]
            return 14
        if z == 6:
            st[IM] = (0, 0, 1, 2, 0, 0, 1, 2)[y]
            return 8
        if y == 0:
            st[I] = st[A]
            return 9
        if y == 1:
            st[R] = st[A]
            return 9
        if y == 2 or y == 3:  # LD A,I / LD A,R
            v = st[I] if y == 2 else st[R]
            st[A] = v
            st[F] = (st[F] & FLAG_C) | SZYX[v] | (FLAG_P if st[IFF2] else 0)
            return 9
        if y == 4 or y == 5:  # RRD, RLD
            hl = _pair(st, H)
            m = _rd(mem, st, hl)
            a = st[A]
            if y == 4:
                _wr(mem, st, hl, ((a << 4) | (m >> 4)) & 0xFF)
                a = (a & 0xF0) | (m & 0x0F)
            else:
                _wr(mem, st, hl, ((m << 4) | (a & 0x0F)) & 0xFF)
                a = (a & 0xF0) | (m >> 4)
            st[A] = a
            st[F] = (st[F] & FLAG_C) | SZYXP[a]
            st[WZ] = (hl + 1) & 0xFFFF
            return 18
        return 8  # ED 77, ED 7F
    if x == 2 and y >= 4 and z <= 3:
        return _block(mem, st, y, z)
    return 8


@njit
def _block(mem, st, y, z):
    """LDI CPI INI OUTI and their D and R forms (y = 4..7, z = 0..3)."""
    step = 1 if (y & 1) == 0 else -1
    repeat = y >= 6
    hl = _pair(st, H)
    bc = _pair(st, B)
    if z == 0:  # LDI, LDD
        v = _rd(mem, st, hl)
        de = _pair(st, D)
        _wr(mem, st, de, v)
        _set_pair(st, H, hl + step)
        _set_pair(st, D, de + step)
        bc = (bc - 1) & 0xFFFF
        _set_pair(st, B, bc)
        n = v + st[A]
        flags = (st[F] & (FLAG_S | FLAG_Z | FLAG_C)) | (n & FLAG_X)
        flags |= (n << 4) & FLAG_Y
        if bc != 0:
            flags |= FLAG_P
        st[F] = flags
        if repeat and bc != 0:
            return _repeat(st)
        return 16
    if z == 1:  # CPI, CPD
        v = _rd(mem, st, hl)
        res = (st[A] - v) & 0xFF
        half = (st[A] ^ v ^ res) & FLAG_H
        n = res - (1 if half else 0)
        _set_pair(st, H, hl + step)
        bc = (bc - 1) & 0xFFFF
        _set_pair(st, B, bc)
        flags = (st[F] & FLAG_C) | (SZYX[res] & (FLAG_S | FLAG_Z)) | half | FLAG_N
        flags |= (n & FLAG_X) | ((n << 4) & FLAG_Y)
        if bc != 0:
            flags |= FLAG_P
        st[F] = flags
        st[WZ] = (st[WZ] + step) & 0xFFFF
        if repeat and bc != 0 and res != 0:
            return _repeat(st)
        return 16
    b = st[B]
    if z == 2:  # INI, IND: the port reads 0
        v = 0
        _wr(mem, st, hl, v)
        b = (b - 1) & 0xFF
        # TODO(memptr): MEMPTR from B after the decrement, as the PyPI Z80 emulator
        # has it; the "MEMPTR" notes on the chip say before. Only BIT n,(HL) sees it.
        st[WZ] = (((b << 8) | st[C]) + step) & 0xFFFF
        _set_pair(st, H, hl + step)
        k = v + ((st[C] + step) & 0xFF)
    else:  # OUTI, OUTD
        v = _rd(mem, st, hl)
        b = (b - 1) & 0xFF
        _set_pair(st, H, hl + step)
        st[WZ] = (((b << 8) | st[C]) + step) & 0xFFFF
        k = v + st[L]
    st[B] = b
    flags = SZYX[b] | PARITY[(k & 7) ^ b]
    if v & 0x80:
        flags |= FLAG_N
    if k > 0xFF:
        flags |= FLAG_H | FLAG_C
    st[F] = flags
    if repeat and b != 0:
        # MEMPTR stays as the I/O step set it (the PyPI Z80 emulator agrees)
        st[PC] = (st[PC] - 2) & 0xFFFF
        return 21
    return 16


@njit(inline="always")
def _repeat(st):
    """A repeating block instruction runs again: PC back to its ED byte."""
    st[PC] = (st[PC] - 2) & 0xFFFF
    st[WZ] = (st[PC] + 1) & 0xFFFF
    return 21


@njit
def z80_step(mem, st):
    """Run one Z80 instruction (with its prefixes) of the tape ``mem``; return its
    T-states and count it in ``st[STEPS]``, ``st[CYCLES]``."""
    op = _fetch(mem, st)
    _bump_r(st)
    idx = 0
    extra = 0
    if op == 0xDD or op == 0xFD:
        idx = 1 if op == 0xDD else 2
        nxt = _rd(mem, st, st[PC])
        if nxt == 0xDD or nxt == 0xFD or nxt == 0xED:
            # A prefix before another prefix is ignored: a 4-cycle step of its own
            st[CYCLES] += 4
            st[STEPS] += 1
            return 4
        op = _fetch(mem, st)
        _bump_r(st)
        extra = 4
    if op == 0xCB:
        if idx == 0:
            t = _exec_cb(mem, st, 0, 0)
        else:
            d = _fetch(mem, st)
            addr = (st[IX + idx - 1] + d - ((d & 0x80) << 1)) & 0xFFFF
            st[WZ] = addr
            _fetch(mem, st)
            t = _exec_cb(mem, st, idx, addr)
    elif op == 0xED:
        t = _exec_ed(mem, st)
    else:
        t = _exec_main(mem, st, op, idx) + extra
    st[CYCLES] += t
    st[STEPS] += 1
    return t


@njit
def _mem_operand(mem, st, idx):
    """Address of the (HL) operand, or (IX+d)/(IY+d) with a prefix (reads d)."""
    if idx == 0:
        return _pair(st, H)
    d = _fetch(mem, st)
    addr = (st[IX + idx - 1] + d - ((d & 0x80) << 1)) & 0xFFFF
    st[WZ] = addr
    return addr


@njit
def _exec_main(mem, st, op, idx):
    """The unprefixed page (with idx > 0: as changed by a DD or FD prefix)."""
    t = CYCLES_MAIN[op]
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    p, q = y >> 1, y & 1
    # (IX+d) operands take 8 more T-states (LD (IX+d),n only 5): the displacement
    plus = 8 if idx != 0 else 0

    if x == 1:  # LD r,r' and HALT
        if op == 0x76:
            st[HALTED] = 1
            return t
        if z == 6:
            st[y] = _rd(mem, st, _mem_operand(mem, st, idx))
            return t + plus
        if y == 6:
            _wr(mem, st, _mem_operand(mem, st, idx), st[z])
            return t + plus
        _set_r(st, y, idx, _get_r(st, z, idx))
        return t
    if x == 2:  # ALU A,r
        if z == 6:
            _alu(st, y, _rd(mem, st, _mem_operand(mem, st, idx)))
            return t + plus
        _alu(st, y, _get_r(st, z, idx))
        return t

    if x == 0:
        if z == 0:
            if y == 0:  # NOP
                return t
            if y == 1:  # EX AF,AF'
                a, f = st[A], st[F]
                st[A], st[F] = st[ALT + A], st[ALT + F]
                st[ALT + A], st[ALT + F] = a, f
                return t
            if y == 2:  # DJNZ e
                e = _fetch(mem, st)
                st[B] = (st[B] - 1) & 0xFF
                if st[B] != 0:
                    st[PC] = (st[PC] + e - ((e & 0x80) << 1)) & 0xFFFF
                    st[WZ] = st[PC]
                    return t + 5
                return t
            e = _fetch(mem, st)  # JR e, JR cc,e
            if y == 3 or _cond(st, y - 4):
                st[PC] = (st[PC] + e - ((e & 0x80) << 1)) & 0xFFFF
                st[WZ] = st[PC]
                return 12
            return t
        if z == 1:
            if q == 0:
                _set_rp(st, p, idx, _fetch16(mem, st))
            else:
                _add16(st, idx, _get_rp(st, p, idx))
            return t
        if z == 2:
            if p <= 1:  # LD (BC),A / LD (DE),A / LD A,(BC) / LD A,(DE)
                addr = _get_rp(st, p, 0)
                if q == 0:
                    _wr(mem, st, addr, st[A])
                    st[WZ] = ((addr + 1) & 0xFF) | (st[A] << 8)
                else:
                    st[A] = _rd(mem, st, addr)
                    st[WZ] = (addr + 1) & 0xFFFF
                return t
            nn = _fetch16(mem, st)
            st[WZ] = (nn + 1) & 0xFFFF
            if p == 2:
                if q == 0:
                    _wr16(mem, st, nn, _hl(st, idx))
                else:
                    _set_hl(st, idx, _rd16(mem, st, nn))
            elif q == 0:
                _wr(mem, st, nn, st[A])
                st[WZ] = ((nn + 1) & 0xFF) | (st[A] << 8)
            else:
                st[A] = _rd(mem, st, nn)
            return t
        if z == 3:
            step = 1 if q == 0 else -1
            _set_rp(st, p, idx, (_get_rp(st, p, idx) + step) & 0xFFFF)
            return t
        if z == 4 or z == 5:
            if y == 6:
                addr = _mem_operand(mem, st, idx)
                v = _rd(mem, st, addr)
                _wr(mem, st, addr, _inc8(st, v) if z == 4 else _dec8(st, v))
                return t + plus
            v = _get_r(st, y, idx)
            _set_r(st, y, idx, _inc8(st, v) if z == 4 else _dec8(st, v))
            return t
        if z == 6:
            if y == 6:
                addr = _mem_operand(mem, st, idx)
                _wr(mem, st, addr, _fetch(mem, st))
                return t + (5 if idx != 0 else 0)
            _set_r(st, y, idx, _fetch(mem, st))
            return t
        # z == 7: the accumulator and flag operations
        a = st[A]
        f = st[F]
        if y <= 3:  # RLCA RRCA RLA RRA: S, Z and P/V kept
            if y == 0:
                out = a >> 7
                a = ((a << 1) | out) & 0xFF
            elif y == 1:
                out = a & 1
                a = (a >> 1) | (out << 7)
            elif y == 2:
                out = a >> 7
                a = ((a << 1) | (f & FLAG_C)) & 0xFF
            else:
                out = a & 1
                a = (a >> 1) | ((f & FLAG_C) << 7)
            st[A] = a
            st[F] = (f & (FLAG_S | FLAG_Z | FLAG_P)) | (a & (FLAG_X | FLAG_Y)) | out
        elif y == 4:
            _daa(st)
        elif y == 5:  # CPL
            a ^= 0xFF
            st[A] = a
            st[F] = ((f & (FLAG_S | FLAG_Z | FLAG_P | FLAG_C)) | FLAG_H | FLAG_N
                     | (a & (FLAG_X | FLAG_Y)))  # fmt: skip
        elif y == 6:  # SCF
            st[F] = (f & (FLAG_S | FLAG_Z | FLAG_P)) | (a & (FLAG_X | FLAG_Y)) | 1
        else:  # CCF
            st[F] = ((f & (FLAG_S | FLAG_Z | FLAG_P)) | (a & (FLAG_X | FLAG_Y))
                     | ((f & FLAG_C) << 4) | ((f & FLAG_C) ^ 1))  # fmt: skip
        return t

    # x == 3
    if z == 0:  # RET cc
        if _cond(st, y):
            st[PC] = _pop(mem, st)
            st[WZ] = st[PC]
            return t + 6
        return t
    if z == 1:
        if q == 0:  # POP rr (AF for p = 3)
            v = _pop(mem, st)
            if p == 3:
                st[A], st[F] = v >> 8, v & 0xFF
            else:
                _set_rp(st, p, idx, v)
            return t
        if p == 0:  # RET
            st[PC] = _pop(mem, st)
            st[WZ] = st[PC]
        elif p == 1:  # EXX
            for r in (B, C, D, E, H, L):
                st[r], st[ALT + r] = st[ALT + r], st[r]
        elif p == 2:  # JP (HL)
            st[PC] = _hl(st, idx)
        else:  # LD SP,HL
            st[SP] = _hl(st, idx)
            return t
        return t
    if z == 2:  # JP cc,nn
        nn = _fetch16(mem, st)
        st[WZ] = nn
        if _cond(st, y):
            st[PC] = nn
        return t
    if z == 3:
        if y == 0:  # JP nn
            st[PC] = _fetch16(mem, st)
            st[WZ] = st[PC]
        elif y == 2:  # OUT (n),A
            n = _fetch(mem, st)
            st[WZ] = ((n + 1) & 0xFF) | (st[A] << 8)
        elif y == 3:  # IN A,(n): reads 0
            n = _fetch(mem, st)
            st[WZ] = ((st[A] << 8) | n) + 1 & 0xFFFF
            st[A] = 0
        elif y == 4:  # EX (SP),HL
            sp = st[SP]
            v = _rd16(mem, st, sp)
            _wr16(mem, st, sp, _hl(st, idx))
            _set_hl(st, idx, v)
            st[WZ] = v
        elif y == 5:  # EX DE,HL: never IX or IY
            d, e = st[D], st[E]
            st[D], st[E] = st[H], st[L]
            st[H], st[L] = d, e
        elif y == 6:  # DI
            st[IFF1] = 0
            st[IFF2] = 0
        elif y == 7:  # EI
            st[IFF1] = 1
            st[IFF2] = 1
        return t
    if z == 4:  # CALL cc,nn
        nn = _fetch16(mem, st)
        st[WZ] = nn
        if _cond(st, y):
            _push(mem, st, st[PC])
            st[PC] = nn
            return t + 7
        return t
    if z == 5:
        if q == 0:  # PUSH rr
            v = (st[A] << 8) | st[F] if p == 3 else _get_rp(st, p, idx)
            _push(mem, st, v)
            return t
        nn = _fetch16(mem, st)  # CALL nn (p = 0; the others are prefixes)
        st[WZ] = nn
        _push(mem, st, st[PC])
        st[PC] = nn
        return t
    if z == 6:
        _alu(st, y, _fetch(mem, st))
        return t
    # RST p
    _push(mem, st, st[PC])
    st[PC] = y * 8
    st[WZ] = st[PC]
    return t


# ---------------------------------------------------------------------------------
# The 8080


@njit
def _alu8080(st, op, v):
    """ADD ADC SUB SBB ANA XRA ORA CMP with the 8080's flags (S Z AC P C)."""
    a = st[A]
    if op <= 1:
        c = st[F] & FLAG_C if op == 1 else 0
        res = a + v + c
        r8 = res & 0xFF
        st[F] = (SZYXP[r8] & 0xC4) | ((a ^ v ^ res) & FLAG_H) | (res >> 8)
        st[A] = r8
    elif op == 2 or op == 3 or op == 7:
        c = st[F] & FLAG_C if op == 3 else 0
        res = a - v - c
        r8 = res & 0xFF
        # The 8080 subtracts by adding the complement: AC is that sum's carry
        half = (~(a ^ v ^ res)) & FLAG_H
        st[F] = (SZYXP[r8] & 0xC4) | half | ((res >> 8) & FLAG_C)
        if op != 7:
            st[A] = r8
    elif op == 4:
        r8 = a & v
        st[F] = (SZYXP[r8] & 0xC4) | (((a | v) << 1) & FLAG_H)
        st[A] = r8
    else:
        r8 = a ^ v if op == 5 else a | v
        st[F] = SZYXP[r8] & 0xC4
        st[A] = r8


@njit
def i8080_step(mem, st):
    """Run one 8080 instruction of the tape ``mem``; return its T-states and count
    it in ``st[STEPS]``, ``st[CYCLES]``."""
    op = _fetch(mem, st)
    t = CYCLES_8080[op]
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    p, q = y >> 1, y & 1
    f = st[F]

    if x == 1:
        if op == 0x76:
            st[HALTED] = 1
        elif z == 6:
            st[y] = _rd(mem, st, _pair(st, H))
        elif y == 6:
            _wr(mem, st, _pair(st, H), st[z])
        else:
            st[y] = st[z]
    elif x == 2:
        _alu8080(st, y, _rd(mem, st, _pair(st, H)) if z == 6 else st[z])
    elif x == 0:
        if z == 0:
            pass  # NOP and its alternates 08 10 18 20 28 30 38
        elif z == 1:
            if q == 0:
                _set_rp(st, p, 0, _fetch16(mem, st))
            else:
                res = _pair(st, H) + _get_rp(st, p, 0)
                _set_pair(st, H, res & 0xFFFF)
                st[F] = (f & ~FLAG_C) | (res >> 16)
        elif z == 2:
            if p <= 1:
                addr = _get_rp(st, p, 0)
                if q == 0:
                    _wr(mem, st, addr, st[A])
                else:
                    st[A] = _rd(mem, st, addr)
            else:
                nn = _fetch16(mem, st)
                if p == 2:
                    if q == 0:
                        _wr16(mem, st, nn, _pair(st, H))
                    else:
                        _set_pair(st, H, _rd16(mem, st, nn))
                elif q == 0:
                    _wr(mem, st, nn, st[A])
                else:
                    st[A] = _rd(mem, st, nn)
        elif z == 3:
            step = 1 if q == 0 else -1
            _set_rp(st, p, 0, (_get_rp(st, p, 0) + step) & 0xFFFF)
        elif z == 4 or z == 5:
            addr = _pair(st, H)
            v = _rd(mem, st, addr) if y == 6 else st[y]
            if z == 4:
                r8 = (v + 1) & 0xFF
                half = FLAG_H if (r8 & 0x0F) == 0 else 0
            else:
                r8 = (v - 1) & 0xFF
                half = 0 if (r8 & 0x0F) == 0x0F else FLAG_H
            st[F] = (f & FLAG_C) | (SZYXP[r8] & 0xC4) | half
            if y == 6:
                _wr(mem, st, addr, r8)
            else:
                st[y] = r8
        elif z == 6:
            v = _fetch(mem, st)
            if y == 6:
                _wr(mem, st, _pair(st, H), v)
            else:
                st[y] = v
        else:
            a = st[A]
            if y == 0:
                c = a >> 7
                st[A] = ((a << 1) | c) & 0xFF
                st[F] = (f & ~FLAG_C) | c
            elif y == 1:
                c = a & 1
                st[A] = (a >> 1) | (c << 7)
                st[F] = (f & ~FLAG_C) | c
            elif y == 2:
                st[A] = ((a << 1) | (f & FLAG_C)) & 0xFF
                st[F] = (f & ~FLAG_C) | (a >> 7)
            elif y == 3:
                st[A] = (a >> 1) | ((f & FLAG_C) << 7)
                st[F] = (f & ~FLAG_C) | (a & 1)
            elif y == 4:  # DAA, the 8080's way
                corr = 0
                carry = f & FLAG_C
                if (f & FLAG_H) or (a & 0x0F) > 9:
                    corr = 6
                if carry or (a >> 4) > 9 or ((a >> 4) >= 9 and (a & 0x0F) > 9):
                    corr |= 0x60
                    carry = FLAG_C
                r8 = (a + corr) & 0xFF
                half = FLAG_H if (a & 0x0F) + (corr & 0x0F) > 0x0F else 0
                st[A] = r8
                st[F] = (SZYXP[r8] & 0xC4) | half | carry
            elif y == 5:
                st[A] = a ^ 0xFF
            elif y == 6:
                st[F] = f | FLAG_C
            else:
                st[F] = f ^ FLAG_C
    else:  # x == 3
        if z == 0:
            if _cond(st, y):
                st[PC] = _pop(mem, st)
                t += 6
        elif z == 1:
            if q == 0:
                v = _pop(mem, st)
                if p == 3:
                    st[A], st[F] = v >> 8, v & 0xD5
                else:
                    _set_rp(st, p, 0, v)
            elif p == 0 or p == 1:  # RET and its alternate D9
                st[PC] = _pop(mem, st)
            elif p == 2:
                st[PC] = _pair(st, H)
            else:
                st[SP] = _pair(st, H)
        elif z == 2:
            nn = _fetch16(mem, st)
            if _cond(st, y):
                st[PC] = nn
        elif z == 3:
            if y == 0 or y == 1:  # JMP and its alternate CB
                st[PC] = _fetch16(mem, st)
            elif y == 2:
                _fetch(mem, st)
            elif y == 3:
                _fetch(mem, st)
                st[A] = 0
            elif y == 4:
                sp = st[SP]
                v = _rd16(mem, st, sp)
                _wr16(mem, st, sp, _pair(st, H))
                _set_pair(st, H, v)
            elif y == 5:
                d, e = st[D], st[E]
                st[D], st[E] = st[H], st[L]
                st[H], st[L] = d, e
            elif y == 6:
                st[IFF1] = 0
            else:
                st[IFF1] = 1
        elif z == 4:
            nn = _fetch16(mem, st)
            if _cond(st, y):
                _push(mem, st, st[PC])
                st[PC] = nn
                t += 6
        elif z == 5:
            if q == 0:
                # F is kept without the 8080's fixed bits; they show when pushed
                v = (st[A] << 8) | st[F] | 0x02 if p == 3 else _get_rp(st, p, 0)
                _push(mem, st, v)
            else:  # CALL and its alternates DD ED FD
                nn = _fetch16(mem, st)
                _push(mem, st, st[PC])
                st[PC] = nn
        elif z == 6:
            _alu8080(st, y, _fetch(mem, st))
        else:
            _push(mem, st, st[PC])
            st[PC] = y * 8
    st[CYCLES] += t
    st[STEPS] += 1
    return t


# ---------------------------------------------------------------------------------
# Runs


@njit
def reset(st, mode, base):
    """A freshly reset processor (see the module docstring) whose address 0 is
    ``base`` on the tape."""
    st[:] = 0
    st[SP] = 0xFFFF
    st[A] = 0xFF
    st[F] = 0xFF if mode == 0 else 0xD5
    st[BASE] = base


@njit
def run_tape(mem, st, mode, max_steps, max_cycles):
    """Run from the current state until HALT, ``max_steps`` instructions or (when
    positive) ``max_cycles`` T-states; return the steps taken."""
    taken = 0
    while taken < max_steps and st[HALTED] == 0:
        if max_cycles > 0 and st[CYCLES] >= max_cycles:
            break
        if mode == 0:
            z80_step(mem, st)
        else:
            i8080_step(mem, st)
        taken += 1
    return taken


def check_mode(mode: str) -> int:
    """The index of a CPU mode name; a one-line error for any other name."""
    if mode not in MODES:
        raise ValueError(
            f"unknown CPU mode {mode!r}; expected one of {', '.join(MODES)}"
        )
    return MODES.index(mode)


def new_state() -> np.ndarray:
    """An empty machine state array (call :func:`reset` before use)."""
    return np.zeros(STATE_SIZE, dtype=np.int64)


# ---------------------------------------------------------------------------------
# The registry's view: a pair tape of two 16-byte programs, run from reset

#: Bytes per program of the Z80 soup (znah/zff); a pair tape holds two.
PROGRAM_SIZE = 16


@njit(cache=True)
def evaluate_z80(tape, max_steps, scratch):
    """Run one pair tape on a freshly reset Z80 in place; return its steps."""
    st = np.zeros(STATE_SIZE, dtype=np.int64)
    reset(st, 0, 0)
    return run_tape(tape, st, 0, max_steps, 0)


@njit(cache=True)
def evaluate_i8080(tape, max_steps, scratch):
    """Run one pair tape on a freshly reset 8080 in place; return its steps."""
    st = np.zeros(STATE_SIZE, dtype=np.int64)
    reset(st, 1, 0)
    return run_tape(tape, st, 1, max_steps, 0)


def trace(tape: bytearray, max_steps: int, mode: str = "z80"):
    """Run ``tape`` in place one instruction at a time from reset, yielding the
    state before each step (pc; heads: SP, HL, DE, BC). Returns the step count.

    The registry's "twin": a Python loop over the single-step kernels, so it can
    show each step. The independent check of the cores is the PyPI ``Z80``
    emulator (tests/test_z80_core.py)."""
    from complife.languages import Step

    mode_index = check_mode(mode)
    _check_power_of_two(len(tape))
    mem = np.frombuffer(bytes(tape), dtype=np.uint8).copy()
    st = new_state()
    reset(st, mode_index, 0)
    step = z80_step if mode_index == 0 else i8080_step
    taken = 0
    while taken < max_steps and st[HALTED] == 0:
        n = len(tape) - 1
        heads = (st[SP] & n, _pair(st, H) & n, _pair(st, D) & n, _pair(st, B) & n)
        yield Step(taken, int(st[PC]) & n, tuple(int(h) for h in heads))
        step(mem, st)
        taken += 1
        tape[:] = mem.tobytes()
    return taken


def _check_power_of_two(n: int) -> None:
    if n < 1 or n & (n - 1):
        raise ValueError(
            f"a tape of {n} bytes; the Z80 and 8080 cores need a power of two "
            "(addresses are masked to the tape)"
        )


def _twin(mode: str):
    def twin(tape: bytearray, max_steps: int) -> int:
        run = trace(tape, max_steps, mode)
        while True:
            try:
                next(run)
            except StopIteration as done:
                return done.value

    return twin


def palette(mode: str = "z80") -> np.ndarray:
    """Byte colours by what the byte does as an opcode: NOP dark, HALT white, moves
    blue, immediate and 16-bit loads cyan, INC/DEC teal, arithmetic green, jumps,
    calls and returns red to orange, PUSH yellow, POP gold, prefixes (Z80) magenta,
    the rest grey."""
    out = np.zeros((256, 3), dtype=np.uint8)
    for b in range(256):
        x, z, q = b >> 6, b & 7, (b >> 3) & 1
        shade = 0.75 + 0.25 * ((b >> 3) & 7) / 7
        if b == 0x00:
            rgb = (40, 40, 40)
        elif b == 0x76:
            rgb = (255, 255, 255)
        elif mode == "z80" and b in (0xCB, 0xDD, 0xED, 0xFD):
            rgb = (230, 0, 230)
        elif x == 1:
            rgb = (60, 90, 255)
        elif x == 2 or (x == 3 and z == 6):
            rgb = (40, 200, 40)
        elif x == 0 and (z == 6 or (z == 1 and q == 0) or z == 2):
            rgb = (0, 200, 220)
        elif x == 0 and z in (3, 4, 5):
            rgb = (0, 140, 130)
        elif x == 3 and z == 5 and q == 0:
            rgb = (255, 230, 0)
        elif x == 3 and z == 1 and q == 0:
            rgb = (200, 160, 0)
        elif (x == 3 and z in (0, 2, 4, 7)) or b in (0xC3, 0xC9, 0xCD, 0xE9):
            rgb = (240, 60, 30)
        elif x == 0 and z == 0 and b >= 0x10:
            rgb = (255, 140, 0)
        else:
            rgb = (150, 150, 150)
        out[b] = [int(c * shade) for c in rgb]
    return out


def _register() -> None:
    from complife.languages import Language, register
    from complife.languages.forth import format_hex, parse_hex

    for name, mode, kernel, summary in (
        ("z80", "z80", evaluate_z80, "Zilog Z80, every opcode, 16-byte programs"),
        ("i8080", "i8080", evaluate_i8080, "Intel 8080, 16-byte programs"),
    ):
        colours = palette(mode)
        register(
            Language(
                name=name,
                family="z80",
                summary=summary + " (the paper's 8-bit soups; see complife z80)",
                evaluate=kernel,
                twin=_twin(mode),
                steps=lambda tape, max_steps, mode=mode: trace(tape, max_steps, mode),
                parse=lambda text, name=name: parse_hex(text, name),
                format=format_hex,
                palette=colours,
                text_styles=tuple(
                    "#{:02x}{:02x}{:02x} on grey11".format(*c) for c in colours
                ),
                program_size=PROGRAM_SIZE,
            )
        )


_register()
