"""Where the suite finds the repository and the reference material copied into it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The platforms' own descriptions and recordings, committed under tests/ so that a clone alone
# passes: see tests/reference/README.md for their origin and licences.
REFERENCE = ROOT / "tests" / "reference"
