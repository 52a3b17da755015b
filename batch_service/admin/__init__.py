"""The admin API: what a test steers the service with, under `/admin/v1`.

Chaos rules for any call, a journal of the last calls, forcing a job's state, a reset, and
(in test mode) a clock that can be moved forward. `install` wires it into the app::

    admin.install(app)   # the router, the rules-and-journal middleware, the fault handler
"""

from fastapi import FastAPI

from batch_service.admin.middleware import ChaosAndJournalMiddleware
from batch_service.admin.routes import router
from batch_service.admin.services import AdminServices, build_admin_services
from batch_service.faults import InjectedFault, injected_fault_handler

__all__ = ["AdminServices", "build_admin_services", "install"]


def install(app: FastAPI) -> None:
    """Add the admin router, the middleware and the handler for faults raised by handlers.

    Call it before adding the metrics middleware, so that faulted calls are counted too.
    """
    app.include_router(router)
    app.add_middleware(ChaosAndJournalMiddleware)
    app.add_exception_handler(InjectedFault, injected_fault_handler)
