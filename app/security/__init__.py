"""Roles, the access matrix, row scope and masking of personal data."""
