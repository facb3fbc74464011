"""sla layer."""
