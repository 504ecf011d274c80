"""Synthetic source generator: realistic, messy landing files for both DLI studies, with a defect manifest."""
