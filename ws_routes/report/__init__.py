"""Stage 6, reporting: failure reports, redaction, and replaying a conversation."""
