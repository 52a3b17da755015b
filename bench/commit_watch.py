"""When the service's commits happen, seen from outside: poll a SQLite file's job line counts.

A line's delay to a follower is measured from its commit, which only the database shows.
This process reads `jobs.log_line_count` every few milliseconds (read-only, each poll its own
snapshot) and prints, for every job whose count rose between two polls, the lines that came
and the start of the poll before: the commit happened after that moment, so a delay taken
from it is never shorter than the real one (longer by at most one poll interval plus one
query). It runs as its own process so its CPU is neither the client's nor the service's,
says `watching` once its first poll is done, and runs until its stdin closes; then it
prints JSON on stdout.

    python -m bench.commit_watch /tmp/followers.db < /dev/null
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
import threading
import time

POLL_SECONDS = 0.005
QUERY = "SELECT id, log_line_count FROM jobs"


def watch(database: str, ready: threading.Event, stop: threading.Event) -> dict[str, object]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
    counts: dict[str, int] = {}
    rises: list[tuple[str, int, int, float]] = []  # job id, first new seq, count, committed after
    widths: list[float] = []
    polls = 0
    previous_start = time.monotonic()
    while not stop.is_set():
        started = time.monotonic()
        rows = connection.execute(QUERY).fetchall()
        polls += 1
        rose = False
        for job_id, count in rows:
            before = counts.get(job_id, 0)
            if count > before:
                rises.append((job_id, before, count, previous_start))
                counts[job_id] = count
                rose = True
        if rose:
            widths.append(time.monotonic() - previous_start)
        if polls == 1:
            ready.set()
        previous_start = started
        time.sleep(POLL_SECONDS)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    widths.sort()
    return {
        "rises": rises,
        "polls": polls,
        "bracket_p99_s": widths[int(0.99 * (len(widths) - 1))] if widths else 0.0,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def main() -> None:
    ready, stop = threading.Event(), threading.Event()
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(watch(sys.argv[1], ready, stop)), daemon=True)
    worker.start()
    ready.wait()
    print("watching", flush=True)  # after the first poll: every later commit is seen
    sys.stdin.read()  # until the benchmark closes our stdin
    stop.set()
    worker.join()
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
