"""Evaluation on task suites: load a suite, run each task as an isolated orchestrator run,
score the answers (GAIA's rules and others), and report.

    suites.py, yaml_suite.py, gaia_suite.py   suites from YAML or GAIA JSONL
    extraction.py, gaia.py, scoring.py, judge.py   the answer and whether it is right
    trial.py                                  one task, one repeat: run, score, record
    runner.py, backends/                      plan, resume, run (asyncio or Ray)
    records.py                                the evaluation directory and its index
    metrics.py, report.py, charts.py, compare.py, progress.py, cli.py
"""
