"""Monitoring: read models for the supervisor pages, trace queries, the system monitor
and its alert rules. Pages read only through `MonitoringService`; nothing here imports
Streamlit."""
