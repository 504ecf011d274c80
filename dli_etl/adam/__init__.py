"""Analysis datasets (ADaM-like), derived only from the SDTM domains."""
