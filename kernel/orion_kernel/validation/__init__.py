"""Validation of admin request bodies: workflow and channel definitions, ids, shared field checks."""
