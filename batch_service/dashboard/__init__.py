"""A browser dashboard for the batch service, served by the service itself at `/ui`.

The pages are empty shells: every job, log line and error reaches the browser through
`/v1` calls that the page's JavaScript makes with the API key the user typed, so the
pages need no auth and hold nothing worth protecting. `create_app` wires it in::

    app.include_router(dashboard.router)
    app.mount(dashboard.STATIC_PATH, dashboard.static_files(), name=dashboard.STATIC_NAME)
"""

from batch_service.dashboard.routes import STATIC_NAME, STATIC_PATH, router, static_files

__all__ = ["STATIC_NAME", "STATIC_PATH", "router", "static_files"]
