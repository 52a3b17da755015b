"""The read cache's rules, one by one: what it may keep, and when it must not."""

from __future__ import annotations

from batch_service.feed import JobChange
from batch_service.feed.cache import JobCache


def row(state: str, job_id: str = "job-1", count: int = 0) -> dict[str, object]:
    return {"id": job_id, "owner": "alice", "state": state, "log_line_count": count}


def test_a_finished_job_is_kept_everywhere_a_live_one_only_where_every_change_passes() -> None:
    replica = JobCache(keep_live=False, capacity=10)
    replica.offer(row("RUNNING"), read_at_generation=replica.generation)
    replica.offer(row("SUCCEEDED", "job-2"), read_at_generation=replica.generation)
    assert replica.get("job-1") is None
    assert replica.get("job-2") == row("SUCCEEDED", "job-2")

    sole = JobCache(keep_live=True, capacity=10)
    sole.offer(row("RUNNING"), read_at_generation=sole.generation)
    assert sole.get("job-1") == row("RUNNING")


def test_a_row_read_while_a_write_began_is_not_kept() -> None:
    cache = JobCache(keep_live=True, capacity=10)
    before = cache.generation
    cache.begin([JobChange(1, "job-9", "RUNNING", 3)])  # some other job: any write voids the read
    cache.end([JobChange(1, "job-9", "RUNNING", 3)], committed=True)
    cache.offer(row("RUNNING"), read_at_generation=before)
    assert cache.get("job-1") is None


def test_a_job_being_committed_is_dropped_and_served_from_the_database_until_the_commit_ends() -> None:
    cache = JobCache(keep_live=True, capacity=10)
    cache.offer(row("RUNNING", count=1), read_at_generation=cache.generation)
    change = JobChange(1, "job-1", "RUNNING", 2)
    cache.begin([change])
    assert cache.get("job-1") is None
    cache.offer(row("RUNNING", count=2), read_at_generation=cache.generation)  # read mid-commit
    assert cache.get("job-1") is None
    cache.end([change], committed=True)
    cache.offer(row("RUNNING", count=2), read_at_generation=cache.generation)
    assert cache.get("job-1") == row("RUNNING", count=2)


def test_a_reset_or_a_lost_connection_forgets_everything() -> None:
    cache = JobCache(keep_live=False, capacity=10)
    cache.offer(row("FAILED"), read_at_generation=cache.generation)
    reset = JobChange(0, "", reset=True)
    cache.begin([reset])
    cache.offer(row("FAILED", "job-2"), read_at_generation=cache.generation)
    cache.end([reset], committed=True)
    assert (cache.get("job-1"), cache.get("job-2")) == (None, None)
    cache.offer(row("FAILED"), read_at_generation=cache.generation)
    cache.forget_all()
    assert cache.get("job-1") is None


def test_the_least_recently_kept_row_goes_first() -> None:
    cache = JobCache(keep_live=False, capacity=2)
    for job_id in ("job-1", "job-2", "job-3"):
        cache.offer(row("SUCCEEDED", job_id), read_at_generation=cache.generation)
    assert [cache.get(job_id) is not None for job_id in ("job-1", "job-2", "job-3")] == [False, True, True]


def test_a_running_job_whose_commit_only_added_lines_comes_back_with_its_new_count() -> None:
    cache = JobCache(keep_live=True, capacity=10)
    cache.offer(row("RUNNING", count=1), read_at_generation=cache.generation)
    progress = JobChange(1, "job-1", "RUNNING", 4, lines_only=True)
    cache.begin([progress])
    assert cache.get("job-1") is None  # mid-commit: from the database, as for any change
    cache.end([progress], committed=True)
    assert cache.get("job-1") == row("RUNNING", count=4)


def test_a_lines_only_change_that_rolled_back_or_met_another_change_is_read_again() -> None:
    cache = JobCache(keep_live=True, capacity=10)
    cache.offer(row("RUNNING", count=1), read_at_generation=cache.generation)
    progress = JobChange(1, "job-1", "RUNNING", 4, lines_only=True)
    cache.begin([progress])
    cache.end([progress], committed=False)
    assert cache.get("job-1") is None

    cache.offer(row("RUNNING", count=1), read_at_generation=cache.generation)
    cancel = JobChange(1, "job-1", "CANCELLED")
    cache.begin([progress])
    cache.begin([cancel])  # another commit touching the job before the first one ends
    cache.end([progress], committed=True)
    cache.end([cancel], committed=True)
    assert cache.get("job-1") is None

    cache.offer(row("RUNNING", count=1), read_at_generation=cache.generation)
    cache.begin([progress, cancel])  # both in one commit
    cache.end([progress, cancel], committed=True)
    assert cache.get("job-1") is None
