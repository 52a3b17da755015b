"""Benchmarks of the batch service and its connector, each judged against a baseline run alongside.

Run them all with `python -m bench` (or `--smoke` for tiny sizes); see bench/README.md.
Each benchmark module exposes `NAME`, `TITLE` and `async run(ctx) -> BenchResult`;
`bench.suite` lists them and runs them.
"""
