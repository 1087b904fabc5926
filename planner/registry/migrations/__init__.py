"""Alembic migrations of the plan registry (``gpuplan`` runs them when it opens a registry)."""
