"""``python -m planner`` runs the ``gpuplan`` command."""

from planner.cli import main

main(prog_name="gpuplan")
