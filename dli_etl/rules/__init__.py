"""Clinical and data rules: pure, table-driven functions with their own tests."""
