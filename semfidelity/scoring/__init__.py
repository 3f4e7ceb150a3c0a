"""Batch scoring of folders and what comes after it: HTML reports of a scoring run."""
