"""What the admin API shares for the life of the app: its keys, the chaos rules, the journal,
and a way to wait for the scheduler to catch up with the test clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from batch_service.admin.chaos import ChaosRules, ChaosRuleSpec
from batch_service.admin.journal import Journal
from batch_service.admin.keys import AdminKeys, parse_admin_keys
from batch_service.faults import FaultAction
from batch_service.settings import Settings

FAULT_RATE_RULE = "BATCH_FAULT_RATE"  # its id names where it came from
FAULT_RATE_RETRY_AFTER_SECONDS = 1


class SchedulerTicks:
    """Counts the scheduler's finished ticks, so a clock advance can wait for ticks that saw it."""

    def __init__(self) -> None:
        self.finished = 0
        self.last_lines_written = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def finished_one(self, lines_written: int) -> None:
        """Called by the scheduler (on its loop) after each tick."""
        self.finished += 1
        self.last_lines_written = lines_written
        waiting = []
        for target, done in self._waiters:
            if self.finished >= target and not done.done():
                done.set_result(None)
            elif not done.done():
                waiting.append((target, done))
        self._waiters = waiting

    async def wait_for(self, count: int) -> None:
        """Until `count` ticks have finished in all."""
        if self.finished >= count:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((count, done))
        await done


@dataclass
class AdminServices:
    keys: AdminKeys
    rules: ChaosRules
    journal: Journal | None  # kept only when an admin can read it
    test_mode: bool
    ticks: SchedulerTicks = field(default_factory=SchedulerTicks)


def build_admin_services(settings: Settings) -> AdminServices:
    keys = AdminKeys(parse_admin_keys(settings.admin_keys.get_secret_value()))
    rules = ChaosRules()
    if settings.fault_rate > 0:
        rules.add(fault_rate_rule(settings.fault_rate), rule_id=FAULT_RATE_RULE)
    return AdminServices(
        keys=keys,
        rules=rules,
        journal=Journal(settings.journal_size) if keys.enabled else None,
        test_mode=settings.test_mode,
    )


def fault_rate_rule(rate: float) -> ChaosRuleSpec:
    """`BATCH_FAULT_RATE`, the shorthand: that share of /v1 calls answer 503 with Retry-After."""
    action = FaultAction(status=503, retry_after_seconds=FAULT_RATE_RETRY_AFTER_SECONDS)
    return ChaosRuleSpec(route="/v1/*", action=action, probability=rate)
