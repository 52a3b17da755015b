"""All SQL lives here: `jobs` for the API's job calls, `logs` for log pages, `claims` for
the scheduler's claiming and advancing, `secrets` for values every replica shares."""
