"""The README's main job."""

from __future__ import annotations


def demo() -> None:
    """Run the main job: compare the 2015 and 2025 U.S.-Japan structures and write org charts to out/."""
    raise NotImplementedError("the demo is assembled in kizuna.cli.demo")
