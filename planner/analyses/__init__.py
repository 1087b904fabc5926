"""What is asked of plans: compare and sweep, stress and robust plans, risk, explain, alternatives."""
