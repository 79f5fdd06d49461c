"""The run loop: epochs, reports, checkpoints and stop rules (spec §1.3, §3, §6).

``Simulation(config).reports()`` runs the soup and yields a :class:`Report` at every
report epoch, in the reference's cadence: after 0-based epoch e runs, a report is due
when e % print_interval == 0 and is labelled epoch e + 1 (1, 65, 129, ...). A
checkpoint is saved at a report when e % save_interval == 0. The loop ends at the
first report that meets a stop rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from complife import languages, selfrep, tracer
from complife.checkpoint import checkpoint_name, read_checkpoint, write_checkpoint
from complife.metrics import SoupMetrics, measure
from complife.pairing import FixedShuffle, Neighbours, Ring, WellMixed
from complife.soup import (
    DEFAULT_MUTATION_PROB,
    Soup,
    check_num_programs,
    check_seed,
    mutation_threshold,
)

#: Epoch counts beyond this are not plausible (and checkpoints refuse them).
MAX_EPOCHS = 1 << 48
#: The most epochs run between two looks at the clock, the display and Ctrl-C.
EPOCHS_PER_PIECE = 16


class ConfigError(ValueError):
    """Settings that cannot make a run; raised before anything is written."""


@dataclass
class RunConfig:
    """Everything that decides a run (the reference's flags, spec §5, plus ours).

    ``max_epochs`` stops at the first report past it, as in the reference: 256 stops
    at epoch 257. ``stopping_entropy`` stops at the first report whose high-order
    entropy is at least that value (the paper calls >= 1 "transitioned").
    ``trace_tokens`` gives every byte a tracer token (:mod:`complife.tracer`).
    """

    language: str
    num_programs: int = 1 << 17
    seed: int = 0
    mutation_prob: float = DEFAULT_MUTATION_PROB
    max_epochs: int | None = None
    print_interval: int = 64
    save_interval: int = 256
    checkpoint_dir: str | None = None
    load: str | None = None
    reset_interval: int | None = None
    zero_init: bool = False
    initial_program: str | None = None
    stopping_bpb: float | None = None
    stopping_entropy: float | None = None
    eval_selfrep: bool = False
    stopping_selfrep_count: int | None = None
    permute_programs: bool = True
    fixed_shuffle: bool = False
    interaction_pattern: str | None = None
    grid: tuple[int, int] | None = None
    trace_tokens: bool = False
    keep_tokens: int = 2

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first setting that cannot work."""
        self._validate_pairing()
        try:
            languages.get(self.language)
            check_seed(self.seed)
            mutation_threshold(self.mutation_prob)
            if self.load is None:
                check_num_programs(self.num_programs)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        _positive("print interval", self.print_interval)
        _positive("save interval", self.save_interval)
        if self.save_interval % self.print_interval:
            raise ConfigError(
                f"save interval {self.save_interval} is not a multiple of print "
                f"interval {self.print_interval}; checkpoints are saved at reports"
            )
        if self.max_epochs is not None and not 0 <= self.max_epochs < MAX_EPOCHS:
            raise ConfigError(
                f"max epochs is {self.max_epochs}; expected 0 to 2**48 - 1"
            )
        for name in ("stopping_entropy", "stopping_bpb"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} is {value}; expected a finite number")
        if self.stopping_selfrep_count is not None and self.stopping_selfrep_count < 0:
            raise ConfigError(
                f"--stopping-selfrep-count is {self.stopping_selfrep_count}; "
                "expected a count >= 0"
            )
        if self.reset_interval is not None:
            _positive("reset interval", self.reset_interval)
        if self.stopping_selfrep_count is not None and not self.eval_selfrep:
            raise ConfigError(
                "--stopping-selfrep-count needs --eval-selfrep (replicators are only "
                "counted when it is on)"
            )
        if self.initial_program is not None:
            try:
                languages.get(self.language).parse(self.initial_program)
            except ValueError as e:
                raise ConfigError(f"initial program: {e}") from None
        if not isinstance(self.keep_tokens, int) or self.keep_tokens < 0:
            raise ConfigError(
                f"--keep-tokens is {self.keep_tokens!r}; expected a number of "
                "checkpoints >= 0 (0 keeps the tokens of every checkpoint)"
            )
        if self.trace_tokens:
            size = None if self.load is not None else self.num_programs
            try:
                tracer.check_traceable(self.language, size)
            except ValueError as e:
                raise ConfigError(str(e)) from None

    def _validate_pairing(self) -> None:
        chosen = [
            flag
            for flag, on in (
                ("--fixed-shuffle", self.fixed_shuffle),
                ("--no-permute-programs", not self.permute_programs),
                ("--interaction-pattern", self.interaction_pattern is not None),
                ("--grid", self.grid is not None),
            )
            if on
        ]
        if len(chosen) > 1:
            raise ConfigError(
                f"{' and '.join(chosen)} are different pairing rules; choose one"
            )
        if self.grid is not None:
            width, height = self.grid
            if width < 1 or height < 1:
                raise ConfigError(f"grid {width}x{height}: expected a positive size")
            if width * height % 2:
                raise ConfigError(
                    f"a {width}x{height} grid has {width * height} cells, an odd "
                    "number; programs meet in pairs, so give an even width or height"
                )
            if self.load is None and width * height != self.num_programs:
                raise ConfigError(
                    f"a {width}x{height} grid holds {width * height} programs, not "
                    f"{self.num_programs}; give --num {width * height} or another grid"
                )
        if self.fixed_shuffle and self.load is None:
            try:
                FixedShuffle().check(self.num_programs)
            except ValueError as e:
                raise ConfigError(str(e)) from None

    def pairing(self, num_programs: int):
        """The pairing rule of this run for a soup of ``num_programs``."""
        if self.interaction_pattern is not None:
            return Neighbours.read(self.interaction_pattern, num_programs)
        if self.grid is not None:
            return Neighbours.grid(*self.grid)
        if not self.permute_programs:
            return Ring()
        if self.fixed_shuffle:
            return FixedShuffle()
        return WellMixed()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown run setting(s) {', '.join(unknown)}; known settings are "
                f"{', '.join(sorted(known))}"
            )
        if data.get("grid") is not None:
            data = {**data, "grid": tuple(data["grid"])}
        return cls(**data)


def _positive(what: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} is {value!r}; expected a positive number of epochs")


@dataclass(frozen=True)
class Report:
    """The state of a run at one report epoch (the reference's ``SimulationState``).

    ``scheduled`` is False for the extra report of a run stopped between report
    epochs by :meth:`Simulation.request_stop`; logs that mirror the reference's skip
    it.
    """

    epoch: int
    metrics: SoupMetrics
    total_ops: int
    interval_ops: int
    interval_pairs: int
    interval_epochs: int
    interval_seconds: float
    elapsed_s: float
    stop_reason: str | None = None
    scheduled: bool = True
    selfrep_scores: np.ndarray | None = field(default=None, repr=False)
    distinct_tokens: int | None = None

    @property
    def selfrep_count(self) -> int:
        """Programs scoring at least the threshold (spec §4); -1 when not evaluated,
        as the reference prints it."""
        if self.selfrep_scores is None:
            return -1
        return int(np.count_nonzero(self.selfrep_scores >= selfrep.THRESHOLD))

    @property
    def ops_per_interaction(self) -> float:
        """Ops per pair run in the interval (the reference labels it per program)."""
        return self.interval_ops / self.interval_pairs if self.interval_pairs else 0.0

    @property
    def mops_per_s(self) -> float:
        """Millions of ops per second of epoch time (metrics time not counted)."""
        return self.interval_ops / max(self.interval_seconds, 1e-9) * 1e-6

    @property
    def epochs_per_s(self) -> float:
        return self.interval_epochs / max(self.interval_seconds, 1e-9)


@dataclass
class Simulation:
    """A soup and the loop that runs it under a :class:`RunConfig`.

    The soup is made from the config (fresh, or loaded from ``config.load``) unless
    one is given. ``elapsed_offset``, ``total_ops`` and ``carried_interval`` (ops,
    pairs and epochs since the last report) carry over an earlier part of a resumed run;
    ``on_epoch`` is called with the number of epochs run after each epoch.
    """

    config: RunConfig
    soup: Soup | None = None
    elapsed_offset: float = 0.0
    total_ops: int = 0
    carried_interval: tuple[int, int, int] = (0, 0, 0)
    on_epoch: Callable[[int], None] | None = None
    checkpoint_at_stop: bool = False
    stop_reason: str | None = field(default=None, init=False)
    _stop_request: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.config.validate()
        if self.soup is None:
            self.soup = make_soup(self.config)

    def reports(self) -> Iterator[Report]:
        """Run until a stop rule fires, yielding each report (spec §1.3)."""
        config, soup = self.config, self.soup
        # A run resumed between reports goes on with the interval it had.
        interval_ops, interval_pairs, interval_epochs = self.carried_interval
        started = interval_start = time.perf_counter()
        while True:
            # Run up to the next epoch after which something happens (a report, a
            # reset), in one compiled loop, but in pieces short enough for the live
            # display and for Ctrl-C to answer quickly.
            first = soup.epoch
            epoch = self._next_event(first)
            result = soup.advance(epoch - first + 1)
            interval_ops += result.ops
            interval_pairs += result.pairs_run
            interval_epochs += epoch - first + 1
            if self.on_epoch is not None:
                self.on_epoch(soup.epoch)

            interrupted = self._stop_request is not None
            if interrupted or epoch % config.print_interval == 0:
                now = time.perf_counter()
                self.total_ops += interval_ops
                metrics = measure(soup.programs)
                scores = None
                if config.eval_selfrep:
                    scores = selfrep.soup_scores(
                        soup.programs, soup.language, soup.derived_seed(epoch)
                    )
                report = Report(
                    epoch=epoch + 1,
                    metrics=metrics,
                    total_ops=self.total_ops,
                    interval_ops=interval_ops,
                    interval_pairs=interval_pairs,
                    interval_epochs=interval_epochs,
                    interval_seconds=now - interval_start,
                    elapsed_s=self.elapsed_offset + now - started,
                    scheduled=epoch % config.print_interval == 0,
                    selfrep_scores=scores,
                    distinct_tokens=(
                        soup.distinct_tokens() if config.trace_tokens else None
                    ),
                )
                report = replace(
                    report, stop_reason=self._stop_request or self.stop_rule(report)
                )
                yield report
                # Saved after the report is consumed, so that a run folder has logged
                # every report up to its last checkpoint (what a resume relies on).
                stopping = report.stop_reason is not None
                if config.checkpoint_dir and (
                    epoch % config.save_interval == 0
                    or (stopping and (interrupted or self.checkpoint_at_stop))
                ):
                    self.save_checkpoint(Path(config.checkpoint_dir))
                if report.stop_reason is not None:
                    self.stop_reason = report.stop_reason
                    return
                interval_ops = interval_pairs = interval_epochs = 0
                interval_start = time.perf_counter()

            if config.reset_interval and epoch % config.reset_interval == 0:
                # The reference also resets after epoch 0 (a quirk kept on purpose:
                # it changes the trajectory, spec §1.3).
                soup.reset()

    def _next_event(self, epoch: int) -> int:
        """The first epoch from ``epoch`` on after which the loop must look: a report
        or reset is due, or a piece of EPOCHS_PER_PIECE epochs is done."""
        last = epoch + EPOCHS_PER_PIECE - 1
        for interval in (self.config.print_interval, self.config.reset_interval):
            if interval:
                last = min(last, epoch + (-epoch) % interval)
        return last

    def request_stop(self, reason: str = "interrupted") -> None:
        """Stop after the epoch that is running, with a last report and a
        checkpoint (safe to call from a signal handler)."""
        self._stop_request = reason

    def stop_rule(self, report: Report) -> str | None:
        """Why the run stops at this report, or None to go on."""
        config, epoch, metrics = self.config, report.epoch, report.metrics
        if config.max_epochs is not None and epoch > config.max_epochs:
            return f"reached epoch {epoch} > max epochs {config.max_epochs}"
        if config.stopping_bpb is not None and metrics.brotli_bpb < config.stopping_bpb:
            return (
                f"brotli bits per byte {metrics.brotli_bpb:.4f} fell below "
                f"{config.stopping_bpb}"
            )
        if (
            config.stopping_entropy is not None
            and metrics.higher_entropy >= config.stopping_entropy
        ):
            return (
                f"high-order entropy {metrics.higher_entropy:.4f} reached "
                f"{config.stopping_entropy}"
            )
        count = config.stopping_selfrep_count
        if count is not None and report.selfrep_count >= count:
            return f"{report.selfrep_count} replicators >= {count}"
        return None

    def save_checkpoint(self, directory: Path) -> Path:
        """Save the soup as ``directory/<last epoch run>.dat`` (and its tracer
        tokens beside it)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / checkpoint_name(self.soup.epoch - 1)
        if self.config.trace_tokens:
            # Tokens first: a checkpoint on disk always has its tokens beside it.
            tracer.write_tokens(tracer.tokens_path(path), self.soup.tokens)
        written = write_checkpoint(path, self.soup.checkpoint())
        if self.config.trace_tokens and self.config.keep_tokens:
            # Tokens are eight times the soup: keep those of the last few checkpoints
            # only, enough to resume exactly (past one damaged file) and to trace the
            # ancestry of the last one.
            tracer.prune_tokens(directory, keep=self.config.keep_tokens)
        return written


def make_soup(config: RunConfig) -> Soup:
    """The soup a run starts from: fresh from the seed, with the initial program
    written over it, then replaced by the loaded checkpoint if any (the reference's
    order)."""
    language = languages.get(config.language)
    num_programs = config.num_programs
    checkpoint = None
    if config.load is not None:
        checkpoint = read_checkpoint(config.load, language.program_size)
        num_programs = checkpoint.num_programs
    try:
        pairing = config.pairing(num_programs)
        soup = (tracer.TracedSoup if config.trace_tokens else Soup)(
            language,
            num_programs,
            config.seed,
            config.mutation_prob,
            zero_init=config.zero_init,
            pairing=pairing,
        )
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if config.initial_program is not None:
        soup.seed_program(language.parse(config.initial_program))
    if checkpoint is not None:
        soup.restore(checkpoint)
        if config.trace_tokens:
            # A traced run's checkpoint has its tokens beside it, so that it resumes
            # exactly; any other checkpoint starts with fresh tokens.
            soup.restore_tokens_beside(config.load)
        # A checkpoint is saved before the reset of its epoch; the reference's loader
        # skips that reset, so a resumed run would leave the uninterrupted one. We
        # apply it, so that loading continues the same trajectory.
        last = soup.epoch - 1
        if config.reset_interval and last >= 0 and last % config.reset_interval == 0:
            soup.reset()
    return soup
