"""sli layer."""
