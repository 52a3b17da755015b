"""The change feed: every committed change to a job, told once to whoever listens.

Writers record what they change on their session (`changes.record`); the feed publishes
it after the commit, in the event loop, to the SSE followers and the read cache of this
process, and on PostgreSQL (`NOTIFY`, sent inside the same transaction) to every replica.
"""

from batch_service.feed.changes import JobChange, record, record_reset
from batch_service.feed.hub import ChangeFeed, Subscription

__all__ = ["ChangeFeed", "JobChange", "Subscription", "record", "record_reset"]
