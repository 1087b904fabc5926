"""What the user reads: terminal reports, workbooks, charts and files written."""
