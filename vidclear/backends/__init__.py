"""Inference backends, one module each, chosen by name or by --backend auto."""
