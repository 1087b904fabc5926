"""What the user writes: scenario, catalog and shock files, read and checked (tables, YAML, units)."""
