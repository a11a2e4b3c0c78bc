"""Classical per-frame steps on luma, chosen in YAML (``steps:``) and run in the preprocess stage."""

from .registry import STEP_CONFIGS, StepConfig, build_steps

__all__ = ["STEP_CONFIGS", "StepConfig", "build_steps"]
