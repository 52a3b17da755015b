"""A batch-job service whose jobs, state changes and log pages live in a SQL database."""

__version__ = "0.1.0"
