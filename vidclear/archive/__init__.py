"""``vidclear batch``: many files with one set of settings, resumable, on this machine or a Ray cluster."""
