"""Readers by format (xlsx, CDISC ODM XML, REDCap CSV + dictionary) and the profile step that gives them meaning."""
