"""What a simulated job uses while it runs: CPU and memory over time, a pure function of its spec.

Like its log (`simulation.py`), a job's resource use is derived from its spec and its
`started_at`, never stored, so every process (and a restarted one) serves the same series,
and a job that stopped early (cancelled, timed out) simply has no samples past its end.
Samples are evenly spaced over the run: one a second, or fewer for runs longer than
`MAX_SAMPLES` seconds, so a series never has more than `MAX_SAMPLES + 1` points. The
optional `usage` object of the job spec shapes it: peak CPU, peak memory and the curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_SAMPLES = 600
MIB = 1024 * 1024

Shape = Literal["flat", "ramp", "wave"]


class UsageProfile(BaseModel):
    """How a job's simulated resource use looks; every field has a default."""

    model_config = ConfigDict(extra="forbid", strict=True)

    cpu_cores: float = Field(1.0, gt=0, le=1024, allow_inf_nan=False, description="peak CPU use, in cores")
    memory_mib: int = Field(512, ge=1, le=4_194_304, description="peak memory use, in MiB")
    shape: Shape = Field(
        "ramp",
        description="flat: the peak throughout; ramp: rises to the peak by the end; "
        "wave: three swells between a fifth of the peak and the peak",
    )


@dataclass(frozen=True)
class UsageSample:
    index: int
    timestamp: float
    cpu_cores: float
    memory_bytes: int


def sample_interval(run_length: float) -> float:
    """Seconds between samples: 1, or more for a run longer than `MAX_SAMPLES` seconds."""
    return max(1.0, run_length / MAX_SAMPLES)


def samples_reached(run_length: float, started_at: float, until: float) -> int:
    """How many samples a run that started at `started_at` has taken by `until`."""
    if until < started_at:
        return 0
    interval = sample_interval(run_length)
    total = math.floor(run_length / interval) + 1
    return min(total, math.floor((min(until, started_at + run_length) - started_at) / interval) + 1)


def _levels(shape: Shape, fraction: float) -> tuple[float, float]:
    """(CPU, memory) as shares of their peaks, `fraction` of the way through the run."""
    if shape == "flat":
        return 1.0, 1.0
    if shape == "ramp":
        return 0.2 + 0.8 * fraction, 0.3 + 0.7 * fraction
    swell = 0.6 + 0.4 * math.sin(2 * math.pi * 3 * fraction - math.pi / 2)
    return swell, 0.6 + 0.4 * math.sin(math.pi * fraction)


def usage_sample(profile: UsageProfile, run_length: float, started_at: float, index: int) -> UsageSample:
    """Sample `index` of the run, the same whichever process computes it."""
    offset = index * sample_interval(run_length)
    cpu_level, memory_level = _levels(profile.shape, offset / run_length if run_length > 0 else 0.0)
    wobble = 0.95 + 0.05 * math.sin(index * 2.4)  # deterministic texture: 90-100 % of the level
    return UsageSample(
        index=index,
        timestamp=started_at + offset,
        cpu_cores=round(profile.cpu_cores * cpu_level * wobble, 3),
        memory_bytes=round(profile.memory_mib * MIB * memory_level),
    )
