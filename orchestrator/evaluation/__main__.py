"""`python -m orchestrator.evaluation SUITE ...`: the eval commands without the main CLI."""

from orchestrator.evaluation.cli import eval_app

eval_app(prog_name="orchestrator eval")
