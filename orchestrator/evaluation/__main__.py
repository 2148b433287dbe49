"""`python -m orchestrator.evaluation SUITE ...`: the eval commands without the main CLI."""

from orchestrator.evaluation.cli import eval_app
from orchestrator.interrupts import take_back_sigint

take_back_sigint()
eval_app(prog_name="orchestrator eval")
