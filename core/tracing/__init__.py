"""Tracing: span capture on each workflow run, the background trace writer, the optional LangSmith export and PII masking."""
