"""One scenario solved: the entry point, the plan's tables and JSON, and the diagnosis of no plan."""
