"""Export-control metrics and the effective-dated rules that decide where a chip may be used."""
