"""``python -m planner.cli`` runs the ``gpuplan`` command."""

from planner.cli import main

main()
