"""Chaos rules: faults on calls a job's scenario cannot name (submit, list, health, …).

A rule matches a method, a route template as `/openapi.json` spells it (or a prefix ending
in `*`), and optionally an owner; when it matches it fires with its probability, drawn from
its own seeded generator, at most `count` times. The first rule that fires decides the
call's fault. Rules live in the memory of the process that was told about them, as in
LocalStack; `BATCH_FAULT_RATE` is installed at start-up as one such rule.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from batch_service.faults import FaultAction

ANY = "*"
Method = Annotated[str, StringConstraints(pattern=r"^(\*|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$")]
RouteTemplate = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^(\*|/[\x21-\x7e]*)$")
]


class ChaosRuleSpec(BaseModel):
    """What a test asks for: which calls, what happens to them, how often."""

    model_config = ConfigDict(extra="forbid", strict=True)

    method: Method = Field(ANY, description="HTTP method, or * for any")
    route: RouteTemplate = Field(
        description="a route template such as /v1/jobs/{job_id}, or a prefix ending in * such as /v1/*"
    )
    owner: str | None = Field(None, min_length=1, max_length=200, description="only this owner's calls")
    action: FaultAction
    probability: float = Field(1.0, gt=0, le=1, allow_inf_nan=False, description="chance a match fires")
    count: int | None = Field(None, ge=1, description="fire at most this many times")
    seed: int | None = Field(None, description="seeds the rule's own random draws, to replay a run")

    def matches_template(self, template: str) -> bool:
        """`/v1/*` matches every template under /v1/; any other route only itself."""
        if self.route.endswith(ANY):
            return template.startswith(self.route[:-1])
        return template == self.route


@dataclass
class ChaosRule:
    id: str
    spec: ChaosRuleSpec
    seed: int
    matched: int = 0
    hits: int = 0
    _draws: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._draws = random.Random(self.seed)

    @property
    def label(self) -> str:
        return f"{self.id}: {self.spec.action.describe()}"

    @property
    def spent(self) -> bool:
        return self.spec.count is not None and self.hits >= self.spec.count

    def fires(self, method: str, template: str, owner: Callable[[], str | None]) -> bool:
        """Whether this call gets the rule's fault; counts the match and the hit."""
        spec = self.spec
        if spec.method not in (ANY, method) or not spec.matches_template(template):
            return False
        if spec.owner is not None and owner() != spec.owner:
            return False
        self.matched += 1
        if self.spent or self._draws.random() >= spec.probability:
            return False
        self.hits += 1
        return True

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.model_dump(mode="json"),
            "seed": self.seed,
            "matched": self.matched,
            "hits": self.hits,
        }


class ChaosRules:
    """The process's rules, in the order they were added. Thread-safe: the draws of one rule
    must happen in request order for a seed to replay."""

    def __init__(self) -> None:
        self._rules: list[ChaosRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._rules)

    def add(self, spec: ChaosRuleSpec, *, rule_id: str | None = None) -> ChaosRule:
        seed = spec.seed if spec.seed is not None else random.SystemRandom().randrange(2**32)
        with self._lock:
            rule = ChaosRule(id=rule_id or f"rule-{next(self._ids)}", spec=spec, seed=seed)
            self._rules.append(rule)
        return rule

    def list(self) -> list[ChaosRule]:
        with self._lock:
            return list(self._rules)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
        return removed

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def reset(self) -> None:
        """No rules, and ids from rule-1 again, as in a fresh service."""
        with self._lock:
            self._rules = []
            self._ids = itertools.count(1)

    def firing(self, method: str, template: str, owner: Callable[[], str | None]) -> ChaosRule | None:
        """The first rule that fires for this call, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.fires(method, template, owner):
                    return rule
        return None
