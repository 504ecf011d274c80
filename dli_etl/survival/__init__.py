"""Survival estimators for the protocol endpoints, each checked against published R/SAS numbers (CAMIS)."""
