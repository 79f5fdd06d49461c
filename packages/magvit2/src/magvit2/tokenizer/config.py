"""Widths and depths of the tokenizer; `paper()` is the appendix figure's model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class TokenizerConfig:
    """Tokenizer shape.

    channel_multipliers: width of each encoder level is base_channels * multiplier;
        between consecutive levels there is one 2x spatial downsampling.
    temporal_downsample: one flag per downsampling (len = levels - 1): whether it
        also halves time. The paper: (False, True, True), i.e. 4x in time, 8x in space.
    num_res_blocks: ResBlocks per level (the encoder also has as many after the last
        level, the figure's extra "4x ResBlock 512").
    num_bits: K, the LFQ latent width (paper 18, vocabulary 2**18).
    quantizer: "lfq" (the paper) or "vq" (the baseline, 2**K learned codes of dim K).
    """

    in_channels: int = 3
    base_channels: int = 128
    channel_multipliers: tuple[int, ...] = (1, 2, 2, 4)
    temporal_downsample: tuple[bool, ...] = (False, True, True)
    num_res_blocks: int = 4
    num_groups: int = 32
    num_bits: int = 18
    quantizer: str = "lfq"
    entropy_temperature: float = 0.01
    diversity_gamma: float = 1.0

    def __post_init__(self):
        object.__setattr__(
            self, "channel_multipliers", tuple(int(m) for m in self.channel_multipliers)
        )
        object.__setattr__(
            self,
            "temporal_downsample",
            tuple(bool(t) for t in self.temporal_downsample),
        )
        levels = len(self.channel_multipliers)
        if len(self.temporal_downsample) != levels - 1:
            raise ValueError(
                f"temporal_downsample has {len(self.temporal_downsample)} flags; "
                f"expected {levels - 1} (one per downsampling between {levels} levels)"
            )
        for mult in self.channel_multipliers:
            if (self.base_channels * mult) % self.num_groups:
                raise ValueError(
                    f"width {self.base_channels * mult} is not divisible by "
                    f"num_groups={self.num_groups}; pick widths that are multiples"
                )
        if self.quantizer not in ("lfq", "vq"):
            raise ValueError(f"quantizer={self.quantizer!r}; expected 'lfq' or 'vq'")

    @property
    def temporal_factor(self) -> int:
        return 2 ** sum(self.temporal_downsample)

    @property
    def spatial_factor(self) -> int:
        return 2 ** len(self.temporal_downsample)

    @classmethod
    def paper(cls) -> TokenizerConfig:
        """The appendix figure: 17x H x W -> 5 x H/8 x W/8 x 18."""
        return cls()

    @classmethod
    def tiny(cls) -> TokenizerConfig:
        """A model that trains on a CPU in minutes: 4x in time and space, K = 10."""
        return cls(
            base_channels=16,
            channel_multipliers=(1, 2, 2),
            temporal_downsample=(True, True),
            num_res_blocks=1,
            num_groups=8,
            num_bits=10,
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["channel_multipliers"] = list(self.channel_multipliers)
        data["temporal_downsample"] = list(self.temporal_downsample)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TokenizerConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"unknown model keys {sorted(unknown)}; "
                f"expected some of {sorted(known)}"
            )
        return cls(**data)
