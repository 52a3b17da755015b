"""What every benchmark is given: where to put its files, and how big and how long to run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchContext:
    """`smoke` runs every benchmark at tiny sizes: it proves the code works, not the targets."""

    workdir: Path
    smoke: bool = False
    rounds: int = 5
    seconds: int = 5

    @classmethod
    def create(cls, workdir: Path, *, smoke: bool, rounds: int | None, seconds: int | None) -> BenchContext:
        return cls(
            workdir=workdir,
            smoke=smoke,
            rounds=rounds or (1 if smoke else 5),
            seconds=seconds or (1 if smoke else 5),
        )

    def size(self, full: int, smoke: int) -> int:
        return smoke if self.smoke else full

    def subdir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path
