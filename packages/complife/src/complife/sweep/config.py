"""A study as a TOML file, and its expansion into runs (paper §2, Figs. 5-7).

::

    [sweep]
    name = "fig6"                 # optional, else the file's stem
    description = "..."           # optional
    transition_entropy = 1.0      # "transitioned": high-order entropy >= this

    [runs]                        # settings of every run; a list sweeps over it
    language = "bff_noheads"
    num_programs = 131072
    seeds = {first = 0, count = 100}          # or a list: [0, 1, 2]
    mutation_prob = [0.0, 0.000244140625]
    pairing = "well_mixed"        # or "fixed_shuffle", "ring"
    max_epochs = 16384
    stopping_entropy = 1.0        # stop a run at the transition

    [[group]]                     # optional; each group overrides [runs]
    name = "long-no-noise"
    mutation_prob = 0.0
    pairing = "fixed_shuffle"

A group's runs are every combination of its list-valued settings, seeds innermost.
Errors name the line of the key at fault: tomllib reports lines only for syntax
errors, so :func:`key_lines` finds each key's line in the text itself.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from complife import languages
from complife.simulation import ConfigError, RunConfig
from complife.soup import check_num_programs, check_seed, mutation_threshold

#: The paper's threshold for "transitioned" (§2, Fig. 5).
TRANSITION_ENTROPY = 1.0
#: Pairing modes (spec §1.4) and the RunConfig settings that choose them.
PAIRINGS = {
    "well_mixed": {},
    "fixed_shuffle": {"fixed_shuffle": True},
    "ring": {"permute_programs": False},
}
#: Settings that may be a list: each list is an axis of the sweep.
AXES = ("language", "num_programs", "mutation_prob", "pairing", "max_epochs")
#: Settings that are one value per group.
SCALARS = (
    "stopping_entropy",
    "stopping_bpb",
    "print_interval",
    "save_interval",
    "initial_program",
    "zero_init",
    "reset_interval",
)
RUN_KEYS = ("seeds", *AXES, *SCALARS)
SWEEP_KEYS = ("name", "description", "transition_entropy")
TABLES = ("sweep", "runs", "group")
#: Defaults of the run settings that RunConfig does not fix for a sweep.
DEFAULTS = {
    "mutation_prob": 1 / 4096,
    "pairing": "well_mixed",
    "print_interval": 64,
    "save_interval": 1024,
    "stopping_entropy": None,
    "stopping_bpb": None,
    "initial_program": None,
    "zero_init": False,
    "reset_interval": None,
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class SweepConfigError(ConfigError):
    """A sweep file that cannot make a study; the message names file and line."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its group, the swept parameters and its RunConfig
    settings. ``run_id`` names its folder, ``runs/<group>/<run_id>``."""

    group: str
    language: str
    num_programs: int
    seed: int
    mutation_prob: float
    pairing: str
    max_epochs: int
    settings: dict = field(hash=False)

    @property
    def run_id(self) -> str:
        return (
            f"{self.language}-n{self.num_programs}-p{self.mutation_prob!r}-"
            f"{self.pairing}-e{self.max_epochs}-s{self.seed}"
        )

    @property
    def folder(self) -> str:
        """The run folder, relative to the sweep folder."""
        return f"runs/{self.group}/{self.run_id}"

    def run_config(self, checkpoint_dir: str | None = None) -> RunConfig:
        """The :class:`RunConfig` of this run."""
        return RunConfig(checkpoint_dir=checkpoint_dir, **self.settings)

    def to_dict(self) -> dict:
        return {"group": self.group, "run_id": self.run_id, **self.settings}


@dataclass(frozen=True)
class SweepConfig:
    """A parsed study: its name, its threshold, and its runs in order."""

    name: str
    description: str
    transition_entropy: float
    runs: tuple[RunSpec, ...]
    text: str

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(spec.group for spec in self.runs))


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and expand a sweep file; raise :class:`SweepConfigError` naming the line
    of the first key that is unknown or holds an impossible value."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SweepConfigError(
            f"sweep config {path} does not exist; give a .toml file such as "
            "configs/sweeps/fig5.toml"
        ) from None
    except OSError as e:
        raise SweepConfigError(f"cannot read sweep config {path}: {e}") from None
    return parse_sweep(text, str(path), default_name=path.stem)


def parse_sweep(text: str, source: str = "<sweep>", default_name="sweep"):
    """Parse the text of a sweep file (see the module docstring)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SweepConfigError(f"{source}: not valid TOML: {e}") from None
    lines = key_lines(text)

    def fail(where: tuple, message: str):
        line = lines.get(where) or lines.get(where[:-1])
        at = f"{source}:{line}" if line else source
        raise SweepConfigError(f"{at}: {message}")

    for table in data:
        if table not in TABLES:
            _unknown(fail, (table,), table, TABLES, "table or top-level key")
    sweep = data.get("sweep", {})
    runs = data.get("runs", {})
    groups = data.get("group", [{}])
    if not isinstance(sweep, dict) or not isinstance(runs, dict):
        fail((), "[sweep] and [runs] must be tables")
    if not isinstance(groups, list) or not groups:
        fail(("group",), "groups are written [[group]], one table each")

    for key in sweep:
        if key not in SWEEP_KEYS:
            _unknown(fail, ("sweep", key), key, SWEEP_KEYS, "key in [sweep]")
    name = sweep.get("name", default_name)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        fail(("sweep", "name"), f"name = {name!r}: expected letters, digits, . _ -")
    threshold = sweep.get("transition_entropy", TRANSITION_ENTROPY)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 < threshold < math.inf
    ):
        # High-order entropy is >= 0 (a random soup's is about 0.1), so a
        # threshold <= 0 would count every run as transitioned at its first report.
        fail(
            ("sweep", "transition_entropy"),
            f"transition_entropy = {threshold!r}: expected a finite number above 0 "
            "such as the paper's 1.0",
        )

    for key, value in runs.items():
        _check_setting(fail, ("runs", key), key, value)
    specs = []
    names = set()
    for index, group in enumerate(groups):
        where = ("group", index)
        settings = dict(runs)
        group_name = group.get("name", name if len(groups) == 1 else None)
        if not isinstance(group_name, str) or not _NAME.fullmatch(group_name):
            fail(
                (*where, "name"),
                f"group name {group_name!r}: every [[group]] of several needs a "
                "name of letters, digits, . _ -",
            )
        if group_name in names:
            fail((*where, "name"), f"group name {group_name!r} is used twice")
        names.add(group_name)
        for key, value in group.items():
            if key != "name":
                _check_setting(fail, (*where, key), key, value)
                settings[key] = value
        blame = {k: (*where, k) if k in group else ("runs", k) for k in settings}
        specs += _expand(fail, group_name, settings, blame, where, threshold)
    return SweepConfig(
        name=name,
        description=str(sweep.get("description", "")),
        transition_entropy=float(threshold),
        runs=tuple(specs),
        text=text,
    )


def _unknown(fail, where, key, known, what):
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    fail(where, f"unknown {what} {key!r}; {hint}known: {', '.join(known)}")


def _check_setting(fail, where, key, value) -> None:
    """Check one run setting's type and range before any run is made."""
    if key not in RUN_KEYS:
        _unknown(fail, where, key, RUN_KEYS, "run setting")
    if key == "seeds":
        _seeds(fail, where, value)
        return
    values = value if isinstance(value, list) and key in AXES else [value]
    if isinstance(value, list) and key not in AXES:
        fail(where, f"{key} takes one value, not a list (lists sweep only {AXES})")
    if not values:
        fail(where, f"{key} = []: an empty list makes no runs; give a value")
    for v in values:
        problem = _value_problem(key, v)
        if problem:
            fail(where, f"{key} = {v!r}: {problem}")


def _value_problem(key: str, v) -> str | None:
    """Why ``v`` cannot be setting ``key``, or None."""
    integer = isinstance(v, int) and not isinstance(v, bool)
    number = integer or isinstance(v, float)
    try:
        if key == "language":
            if not isinstance(v, str):
                return "expected a language name"
            languages.get(v)
        elif key == "num_programs":
            if not integer:
                return "expected a whole, even number of programs such as 131072"
            check_num_programs(v)
        elif key == "mutation_prob":
            if not number:
                return "expected a probability per byte such as 0.000244140625"
            mutation_threshold(v)
        elif key == "pairing" and v not in PAIRINGS:
            return f"expected one of {', '.join(PAIRINGS)}"
        elif key in ("max_epochs",) and not (integer and v >= 0):
            return "expected a number of epochs >= 0"
        elif key in ("print_interval", "save_interval", "reset_interval") and not (
            integer and v >= 1
        ):
            return "expected a positive number of epochs"
        elif key in ("stopping_entropy", "stopping_bpb") and not (
            number and math.isfinite(v)
        ):
            return "expected a finite number"
        elif key == "zero_init" and not isinstance(v, bool):
            return "expected true or false"
        elif key == "initial_program" and not isinstance(v, str):
            return "expected a program in text form"
    except ValueError as e:
        return str(e)
    return None


def _seeds(fail, where, value) -> list[int]:
    """Seeds as a list of integers or ``{first = F, count = C}``."""
    if isinstance(value, dict):
        if set(value) != {"first", "count"}:
            fail(where, f"seeds = {value!r}: expected {{first = F, count = C}}")
        first, count = value["first"], value["count"]
        if not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()
        ):
            fail(where, f"seeds = {value!r}: first and count must be integers")
        if count < 1:
            fail(where, f"seeds count = {count}: expected at least 1 run")
        seeds = list(range(first, first + count))
    elif isinstance(value, list) and value:
        seeds = value
    else:
        fail(
            where, f"seeds = {value!r}: expected [0, 1, 2] or {{first = 0, count = 3}}"
        )
    for seed in seeds:
        try:
            check_seed(
                seed if isinstance(seed, int) and not isinstance(seed, bool) else -1
            )
        except ValueError:
            fail(where, f"seed {seed!r}: expected an integer in [0, 2**64)")
    if len(set(seeds)) != len(seeds):
        fail(where, f"seeds {seeds!r}: a seed is listed twice")
    return seeds


def _expand(fail, group, settings, blame, where, threshold) -> list[RunSpec]:
    """Every run of one group: the product of its axes, seeds innermost."""
    for key in ("language", "num_programs", "max_epochs", "seeds"):
        if key not in settings:
            fail(where, f"group {group!r} has no {key}; set it in [runs] or the group")
    settings = {**DEFAULTS, **settings}
    seeds = _seeds(fail, blame["seeds"], settings.pop("seeds"))
    axes = {
        k: v if isinstance(v, list) else [v] for k, v in settings.items() if k in AXES
    }
    fixed = {k: v for k, v in settings.items() if k not in AXES}
    specs = []
    for values in itertools.product(*axes.values(), seeds):
        swept = dict(zip(axes, values[:-1], strict=True))
        pairing = swept.pop("pairing")
        run = {**fixed, **swept, "seed": values[-1], **PAIRINGS[pairing]}
        # + 0.0: -0.0 is the same rate as 0.0, and must name the same folder.
        run["mutation_prob"] = float(run["mutation_prob"]) + 0.0
        for key in ("stopping_entropy", "stopping_bpb"):
            if run[key] is not None:
                run[key] = float(run[key])
        if run["stopping_entropy"] is not None and run["stopping_entropy"] < threshold:
            # Such a run stops before it can count as transitioned: every one would
            # read as "not transitioned", whatever the soup did.
            fail(
                blame["stopping_entropy"],
                f"stopping_entropy = {run['stopping_entropy']!r} is below the "
                f"sweep's transition_entropy {threshold!r}, so runs would stop "
                "before they count as transitioned; raise it to at least "
                f"{threshold!r} or leave it out",
            )
        try:
            RunConfig(**run).validate()
        except ConfigError as e:
            # The run as a whole is impossible (e.g. save not a multiple of print).
            fail(_blame_of(str(e), blame, where), f"group {group!r}: {e}")
        specs.append(
            RunSpec(
                group=group,
                language=run["language"],
                num_programs=run["num_programs"],
                seed=run["seed"],
                mutation_prob=run["mutation_prob"],
                pairing=pairing,
                max_epochs=run["max_epochs"],
                settings=run,
            )
        )
    return specs


def _blame_of(message: str, blame: dict, where: tuple) -> tuple:
    """The key a RunConfig error is most likely about, for its line."""
    found = {}
    for key in blame:
        for phrase in (key, key.replace("_", " ")):
            if phrase in message:
                found[key] = min(found.get(key, len(message)), message.find(phrase))
    return blame[min(found, key=found.get)] if found else where


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"'-]+)\s*\]\]?")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[.=]""")


def key_lines(text: str) -> dict[tuple, int]:
    """The 1-based line of every top-level key of every table: ("runs", "seeds"),
    ("group", 2, "name"), and of every table header: ("runs",), ("group", 2)."""
    lines: dict[tuple, int] = {}
    table: tuple = ()
    counts: dict[str, int] = {}
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        # Lines inside a multi-line string are not keys.
        opened = in_string
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_string = not in_string
        if opened:
            continue
        header = _HEADER.match(line)
        key = _KEY.match(line)
        if header:
            name = header.group(2).strip("\"'")
            if header.group(1) == "[[":
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = (name, index)
            else:
                table = (name,)
            lines.setdefault(table, number)
        elif key:
            lines.setdefault((*table, key.group(1).strip("\"'")), number)
    return lines
