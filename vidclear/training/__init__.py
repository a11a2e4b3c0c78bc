"""Pieces the training tools share: losses, the low-light degradation, seeding."""
