"""The demo: the whole pipeline on generated (synthetic) Sleep-EDF-format data. See ``pipeline``."""

from __future__ import annotations

from cwtmae_cli.demo.pipeline import DemoConfig, DemoResult, StepRecord, run_demo

__all__ = ["DemoConfig", "DemoResult", "StepRecord", "run_demo"]
