"""SDTM-like domains built from curated forms with a small vocabulary of shared algorithms."""
