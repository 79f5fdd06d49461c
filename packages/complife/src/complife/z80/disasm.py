"""Programs as Z80 or 8080 mnemonics: the text form of the 8-bit soups (§5).

:func:`decode` reads one instruction as the cores of
:mod:`complife.languages.z80` execute it (an ignored DD/FD prefix before another
prefix is an instruction of its own, shown as ``(DD)``), and :func:`disassemble`
lists a whole program. Operands are hex: ``$12`` a byte, ``$1234`` a word; jump
targets of JR and DJNZ are relative to the instruction (``$-5``). Bytes at the
end of a program that do not hold a whole instruction are shown as ``DB $xx``.
"""

from __future__ import annotations

from complife.languages.z80 import check_mode

_R = ("B", "C", "D", "E", "H", "L", "(HL)", "A")
_RP = ("BC", "DE", "HL", "SP")
_RP2 = ("BC", "DE", "HL", "AF")
_CC = ("NZ", "Z", "NC", "C", "PO", "PE", "P", "M")
_ALU = ("ADD A,", "ADC A,", "SUB ", "SBC A,", "AND ", "XOR ", "OR ", "CP ")
_ROT = ("RLC", "RRC", "RL", "RR", "SLA", "SRA", "SLL", "SRL")
_ACC = ("RLCA", "RRCA", "RLA", "RRA", "DAA", "CPL", "SCF", "CCF")
_BLOCK = (
    ("LDI", "CPI", "INI", "OUTI"),
    ("LDD", "CPD", "IND", "OUTD"),
    ("LDIR", "CPIR", "INIR", "OTIR"),
    ("LDDR", "CPDR", "INDR", "OTDR"),
)
_IM = ("0", "0", "1", "2", "0", "0", "1", "2")


def _b(v: int) -> str:
    return f"${v:02X}"


def _w(v: int) -> str:
    return f"${v:04X}"


def _signed(d: int) -> int:
    return d - 256 if d >= 128 else d


class _Incomplete(Exception):
    pass


def _z80(code: bytes, pc: int) -> tuple[str, int]:
    def at(i: int) -> int:
        if pc + i >= len(code):
            raise _Incomplete
        return code[pc + i]

    op = at(0)
    idx = ""
    n = 1
    if op in (0xDD, 0xFD):
        if pc + 1 < len(code) and code[pc + 1] in (0xDD, 0xFD, 0xED):
            return f"({op:02X})", 1
        idx = "IX" if op == 0xDD else "IY"
        op = at(1)
        n = 2
    if op == 0xCB:
        if idx:
            d, op2 = _signed(at(n)), at(n + 1)
            x, y, z = op2 >> 6, (op2 >> 3) & 7, op2 & 7
            mem = f"({idx}{d:+d})"
            if x == 1:
                return f"BIT {y},{mem}", n + 2
            if x == 0:
                text = f"{_ROT[y]} {mem}"
            else:
                text = f"{('RES', 'SET')[x - 2]} {y},{mem}"
            return (text if z == 6 else f"LD {_R[z]},{text}"), n + 2
        op2 = at(1)
        x, y, z = op2 >> 6, (op2 >> 3) & 7, op2 & 7
        if x == 0:
            return f"{_ROT[y]} {_R[z]}", 2
        return f"{('BIT', 'RES', 'SET')[x - 1]} {y},{_R[z]}", 2
    if op == 0xED:
        return _ed(at)
    return _main(op, idx, at, n)


def _ed(at) -> tuple[str, int]:
    op = at(1)
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    p, q = y >> 1, y & 1
    if x == 1:
        if z == 0:
            return ("IN (C)" if y == 6 else f"IN {_R[y]},(C)"), 2
        if z == 1:
            return ("OUT (C),0" if y == 6 else f"OUT (C),{_R[y]}"), 2
        if z == 2:
            return f"{'ADC' if q else 'SBC'} HL,{_RP[p]}", 2
        if z == 3:
            nn = _w(at(2) | (at(3) << 8))
            return (f"LD {_RP[p]},({nn})" if q else f"LD ({nn}),{_RP[p]}"), 4
        if z == 4:
            return "NEG", 2
        if z == 5:
            return ("RETI" if y == 1 else "RETN"), 2
        if z == 6:
            return f"IM {_IM[y]}", 2
        names = ("LD I,A", "LD R,A", "LD A,I", "LD A,R", "RRD", "RLD", "NOP*", "NOP*")
        return names[y], 2
    if x == 2 and y >= 4 and z <= 3:
        return _BLOCK[y - 4][z], 2
    return "NOP*", 2


def _main(op: int, idx: str, at, n: int) -> tuple[str, int]:
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    p, q = y >> 1, y & 1
    hl = idx or "HL"
    extra = 0

    def reg(r: int, keep_hl: bool = False) -> str:
        nonlocal extra
        if r == 6:
            if not idx:
                return "(HL)"
            extra = 1
            return f"({idx}{_signed(at(n)):+d})"
        if idx and not keep_hl and r in (4, 5):
            return idx + ("H" if r == 4 else "L")
        return _R[r]

    def byte(k: int = 0) -> str:
        return _b(at(n + k))

    def word(k: int = 0) -> str:
        return _w(at(n + k) | (at(n + k + 1) << 8))

    if x == 1:
        if op == 0x76:
            return "HALT", n
        memory = 6 in (y, z)
        return f"LD {reg(y, memory)},{reg(z, memory)}", n + extra
    if x == 2:
        return f"{_ALU[y]}{reg(z)}", n + extra
    if x == 0:
        if z == 0:
            if y == 0:
                return "NOP", n
            if y == 1:
                return "EX AF,AF'", n
            e = at(n)
            # the target as an address of the tape: after the 2 bytes, plus e
            target = f"${_signed(e) + 2 + n - 1:+d}"
            if y == 2:
                return f"DJNZ {target}", n + 1
            if y == 3:
                return f"JR {target}", n + 1
            return f"JR {_CC[y - 4]},{target}", n + 1
        if z == 1:
            rp = hl if p == 2 else _RP[p]
            if q == 0:
                return f"LD {rp},{word()}", n + 2
            return f"ADD {hl},{rp}", n
        if z == 2:
            if p == 0:
                return ("LD A,(BC)" if q else "LD (BC),A"), n
            if p == 1:
                return ("LD A,(DE)" if q else "LD (DE),A"), n
            target = f"({word()})"
            reg_ = hl if p == 2 else "A"
            return (f"LD {reg_},{target}" if q else f"LD {target},{reg_}"), n + 2
        if z == 3:
            rp = hl if p == 2 else _RP[p]
            return f"{'DEC' if q else 'INC'} {rp}", n
        if z in (4, 5):
            return f"{'INC' if z == 4 else 'DEC'} {reg(y)}", n + extra
        if z == 6:
            target = reg(y)
            return f"LD {target},{byte(extra)}", n + extra + 1
        return _ACC[y], n
    if z == 0:
        return f"RET {_CC[y]}", n
    if z == 1:
        if q == 0:
            return f"POP {hl if p == 2 else _RP2[p]}", n
        return ("RET", "EXX", f"JP ({hl})", f"LD SP,{hl}")[p], n
    if z == 2:
        return f"JP {_CC[y]},{word()}", n + 2
    if z == 3:
        if y == 0:
            return f"JP {word()}", n + 2
        if y == 2:
            return f"OUT ({byte()}),A", n + 1
        if y == 3:
            return f"IN A,({byte()})", n + 1
        return {4: f"EX (SP),{hl}", 5: "EX DE,HL", 6: "DI", 7: "EI"}[y], n
    if z == 4:
        return f"CALL {_CC[y]},{word()}", n + 2
    if z == 5:
        if q == 0:
            return f"PUSH {hl if p == 2 else _RP2[p]}", n
        return f"CALL {word()}", n + 2
    if z == 6:
        return f"{_ALU[y]}{byte()}", n + 1
    return f"RST ${y * 8:02X}", n


_R80 = ("B", "C", "D", "E", "H", "L", "M", "A")
_RP80 = ("B", "D", "H", "SP")
_CC80 = ("NZ", "Z", "NC", "C", "PO", "PE", "P", "M")
_ALU80 = ("ADD", "ADC", "SUB", "SBB", "ANA", "XRA", "ORA", "CMP")
_IMM80 = ("ADI", "ACI", "SUI", "SBI", "ANI", "XRI", "ORI", "CPI")
_ACC80 = ("RLC", "RRC", "RAL", "RAR", "DAA", "CMA", "STC", "CMC")


def _i8080(code: bytes, pc: int) -> tuple[str, int]:
    def at(i: int) -> int:
        if pc + i >= len(code):
            raise _Incomplete
        return code[pc + i]

    op = at(0)
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    p, q = y >> 1, y & 1

    def word() -> str:
        return _w(at(1) | (at(2) << 8))

    if x == 1:
        return ("HLT" if op == 0x76 else f"MOV {_R80[y]},{_R80[z]}"), 1
    if x == 2:
        return f"{_ALU80[y]} {_R80[z]}", 1
    if x == 0:
        if z == 0:
            return ("NOP" if y == 0 else "NOP*"), 1
        if z == 1:
            return (f"DAD {_RP80[p]}" if q else f"LXI {_RP80[p]},{word()}"), 1 + 2 * (
                1 - q
            )
        if z == 2:
            if p <= 1:
                return f"{'LDAX' if q else 'STAX'} {_RP80[p]}", 1
            name = (("SHLD", "LHLD"), ("STA", "LDA"))[p - 2][q]
            return f"{name} {word()}", 3
        if z == 3:
            return f"{'DCX' if q else 'INX'} {_RP80[p]}", 1
        if z in (4, 5):
            return f"{'INR' if z == 4 else 'DCR'} {_R80[y]}", 1
        if z == 6:
            return f"MVI {_R80[y]},{_b(at(1))}", 2
        return _ACC80[y], 1
    if z == 0:
        return f"R{_CC80[y]}", 1
    if z == 1:
        if q == 0:
            return f"POP {'PSW' if p == 3 else _RP80[p]}", 1
        return ("RET", "RET*", "PCHL", "SPHL")[p], 1
    if z == 2:
        return f"J{_CC80[y]} {word()}", 3
    if z == 3:
        if y in (0, 1):
            return f"{'JMP' if y == 0 else 'JMP*'} {word()}", 3
        if y in (2, 3):
            return f"{'OUT' if y == 2 else 'IN'} {_b(at(1))}", 2
        return ("XTHL", "XCHG", "DI", "EI")[y - 4], 1
    if z == 4:
        return f"C{_CC80[y]} {word()}", 3
    if z == 5:
        if q == 0:
            return f"PUSH {'PSW' if p == 3 else _RP80[p]}", 1
        return f"{'CALL' if p == 0 else 'CALL*'} {word()}", 3
    if z == 6:
        return f"{_IMM80[y]} {_b(at(1))}", 2
    return f"RST {y}", 1


def decode(code: bytes, pc: int = 0, mode: str = "z80") -> tuple[str, int]:
    """The instruction at ``code[pc]``: its mnemonic and its length in bytes.
    Raises ValueError when ``code`` ends inside it."""
    decoder = _z80 if check_mode(mode) == 0 else _i8080
    try:
        return decoder(bytes(code), pc)
    except _Incomplete:
        raise ValueError(
            f"the instruction at {pc} runs past the end of the {len(code)}-byte code"
        ) from None


def disassemble(code: bytes, mode: str = "z80") -> list[tuple[int, bytes, str]]:
    """Every instruction of ``code`` from its first byte: (offset, bytes, text)."""
    check_mode(mode)
    out = []
    pc = 0
    while pc < len(code):
        try:
            text, n = decode(code, pc, mode)
        except ValueError:
            text, n = f"DB {_b(code[pc])}", 1
        out.append((pc, bytes(code[pc : pc + n]), text))
        pc += n
    return out


def mnemonics(code: bytes, mode: str = "z80", separator: str = "; ") -> str:
    """A program on one line: its instructions joined by ``separator``."""
    return separator.join(text for _, _, text in disassemble(code, mode))
