"""Standardize raw text into typed, canonical forms; every problem becomes a finding."""
