"""Live log followers (`follow=true`) counted per job and per owner, within set limits.

Each follower costs the process a write per change of its job and a share of the catch-up
reads, for as long as it stays connected, so an unbounded number of them starves everyone
else (in the polling design, 200 followers of one job took a replica to 98% CPU). The counts
are per process, like the rate limit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


class TooManyFollowers(Exception):
    """A follow that would pass a limit; the message names the limit and its setting."""


@dataclass
class FollowerSlot:
    """One admitted follower; `release` (idempotent) gives its place back."""

    followers: Followers
    owner: str
    job_pk: int
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.followers._leave(self)


@dataclass
class Followers:
    per_job: int
    per_owner: int
    _by_job: Counter[int] = field(default_factory=Counter)
    _by_owner: Counter[str] = field(default_factory=Counter)

    def admit(self, *, owner: str, job_pk: int) -> FollowerSlot:
        if self._by_job[job_pk] >= self.per_job:
            raise TooManyFollowers(
                f"this job already has {self.per_job} live log followers (BATCH_MAX_FOLLOWERS_PER_JOB); "
                "close one, or page the log without follow=true"
            )
        if self._by_owner[owner] >= self.per_owner:
            raise TooManyFollowers(
                f"your jobs already have {self.per_owner} live log followers "
                "(BATCH_MAX_FOLLOWERS_PER_OWNER); close one, or page the log without follow=true"
            )
        self._by_job[job_pk] += 1
        self._by_owner[owner] += 1
        return FollowerSlot(self, owner, job_pk)

    @property
    def active(self) -> int:
        return self._by_job.total()

    def _leave(self, slot: FollowerSlot) -> None:
        for counts, key in ((self._by_job, slot.job_pk), (self._by_owner, slot.owner)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]
