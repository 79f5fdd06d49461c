"""The PyPI ``Z80`` emulator (Ivan Kosarev's, zexall- and 8080exm-clean) set up as
the soup's processor, to check complife's cores against step by step.

Its memory callbacks map all 65536 addresses onto the tape (address modulo the
tape length), input reads 0, and it starts from the same reset state as ours. One
of its steps is one opcode fetch sequence; a DD/FD prefix is a step of its own
there, so an instruction of ours is its prefix step plus the next step, unless the
next byte is another prefix (then the prefix alone is our step too).
"""

from __future__ import annotations

import numpy as np

from complife.languages import z80 as core

z80 = None


def available() -> bool:
    global z80
    try:
        import z80 as module
    except ImportError:
        return False
    z80 = module
    return True


# Our register index -> the oracle's attribute
Z80_REGISTERS = {
    "a": core.A, "f": core.F, "b": core.B, "c": core.C, "d": core.D, "e": core.E,
    "h": core.H, "l": core.L, "ix": core.IX, "iy": core.IY, "sp": core.SP,
    "pc": core.PC, "i": core.I, "r": core.R, "alt_a": core.ALT + core.A,
    "alt_f": core.ALT + core.F, "alt_b": core.ALT + core.B,
    "alt_c": core.ALT + core.C, "alt_d": core.ALT + core.D,
    "alt_e": core.ALT + core.E, "alt_h": core.ALT + core.H,
    "alt_l": core.ALT + core.L,
}  # fmt: skip
I8080_REGISTERS = {
    "a": core.A, "f": core.F, "b": core.B, "c": core.C, "d": core.D, "e": core.E,
    "h": core.H, "l": core.L, "sp": core.SP, "pc": core.PC,
}  # fmt: skip


class Oracle:
    """One reference machine running one tape."""

    def __init__(self, tape: bytearray, mode: str):
        self.tape = tape
        self.mode = mode
        self.mask = len(tape) - 1
        self.machine = z80.Z80Machine() if mode == "z80" else z80.I8080Machine()
        m = self.machine
        m.set_read_callback(self._read)
        m.set_write_callback(self._write)
        m.set_input_callback(lambda port: 0)
        m.set_output_callback(lambda port, value: None)
        m.mark_addrs(0, 0x10000, m.READ_MARK | m.WRITE_MARK)
        for name in self.registers():
            setattr(m, name, 0)
        m.pc = 0
        m.sp = 0xFFFF
        m.a = 0xFF
        m.f = 0xFF if mode == "z80" else 0xD5
        self.cycles = 0

    def registers(self):
        return Z80_REGISTERS if self.mode == "z80" else I8080_REGISTERS

    def _read(self, addr: int) -> int:
        return self.tape[addr & self.mask]

    def _write(self, addr: int, value: int) -> None:
        self.tape[addr & self.mask] = value

    def _one(self) -> None:
        m = self.machine
        m.ticks_to_stop = 1
        before = m.frame_tick
        m.run()
        self.cycles += m.frame_tick - before

    def step(self) -> None:
        """One instruction as complife counts it."""
        m = self.machine
        if self.mode == "i8080" and _is_mov_memory(self.tape[m.pc & self.mask]):
            # Intel's manual: MOV r,M and MOV M,r take 7 T-states; the oracle 8
            self.cycles -= 1
        self._one()
        if self.mode == "z80" and m.index_rp_kind != z80.HL:
            if self.tape[m.pc & self.mask] not in (0xDD, 0xFD, 0xED):
                self._one()

    @property
    def halted(self) -> bool:
        if self.mode == "z80":
            return self.machine.halted
        return bool(self.machine.get_state_view()[26])  # after iff, int_disabled

    def state(self) -> dict[str, int]:
        out = {name: getattr(self.machine, name) for name in self.registers()}
        out["wz"] = _wz(self.machine)
        out["cycles"] = self.cycles
        return out


def _is_mov_memory(op: int) -> bool:
    return 0x40 <= op < 0x80 and op != 0x76 and (op & 7 == 6 or op & 0x38 == 0x30)


def _wz(machine) -> int:
    # MEMPTR is in the state image right after SP (bytes 12-13)
    view = machine.get_state_view()
    return view[12] | (view[13] << 8)


def ours(st: np.ndarray, mode: str) -> dict[str, int]:
    names = Z80_REGISTERS if mode == "z80" else I8080_REGISTERS
    out = {name: int(st[i]) for name, i in names.items()}
    out["wz"] = int(st[core.WZ])
    out["cycles"] = int(st[core.CYCLES])
    return out


def compare(tape: bytes, mode: str, steps: int, registers=None) -> str | None:
    """Run ``tape`` on both machines for up to ``steps`` instructions from reset,
    or from reset with ``registers`` (name -> value) set; return a description of
    the first difference, or None."""
    mode_index = core.check_mode(mode)
    mine = np.frombuffer(bytes(tape), dtype=np.uint8).copy()
    st = core.new_state()
    core.reset(st, mode_index, 0)
    oracle = Oracle(bytearray(tape), mode)
    try:
        return _compare(tape, mode, steps, registers, mode_index, mine, st, oracle)
    finally:
        # The machine holds the oracle's bound methods as callbacks where the
        # garbage collector cannot see them: drop the cycle by hand, or every tape
        # leaks its machine (about 120 KiB).
        oracle.machine = None


def _compare(tape, mode, steps, registers, mode_index, mine, st, oracle):
    names = oracle.registers()
    for name, value in (registers or {}).items():
        if name == "wz":
            st[core.WZ] = value
            view = oracle.machine.get_state_view()
            view[12], view[13] = value & 0xFF, value >> 8
        elif name in names:
            st[names[name]] = value
            setattr(oracle.machine, name, value)
    step = core.z80_step if mode_index == 0 else core.i8080_step
    for k in range(steps):
        before = bytes(mine)
        step(mine, st)
        oracle.step()
        a, b = ours(st, mode), oracle.state()
        if mode != "z80":
            a.pop("wz"), b.pop("wz")
        if a != b or bytes(mine) != bytes(oracle.tape):
            diff = {n: (a[n], b[n]) for n in a if a[n] != b[n]}
            same = bytes(mine) == bytes(oracle.tape)
            return (f"{mode} step {k} tape before {before.hex()}: ours vs oracle "
                    f"{diff}; tapes equal {same}")  # fmt: skip
        if st[core.HALTED] or oracle.halted:
            if bool(st[core.HALTED]) != oracle.halted:
                return f"{mode} step {k}: halted differs, tape {before.hex()}"
            break
    return None


def random_registers(rng: np.random.Generator, mode: str) -> dict[str, int]:
    """Random register values (PC and SP as reset leaves them), for compare."""
    names = Z80_REGISTERS if mode == "z80" else I8080_REGISTERS
    out = {}
    for name in names:
        if name in ("pc", "sp"):
            continue
        wide = name in ("ix", "iy")
        out[name] = int(rng.integers(0, 1 << 16 if wide else 256))
    if mode == "i8080":
        out["f"] &= 0xD5
    else:
        out["wz"] = int(rng.integers(0, 1 << 16))
    return out
