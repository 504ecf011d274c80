"""Reference terminologies shipped with dli-etl (CTCAE v5.0 term list) and their readers."""
