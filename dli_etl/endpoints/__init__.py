"""Protocol endpoints from the ADaM-like datasets: estimates with confidence intervals, tests, curves."""
