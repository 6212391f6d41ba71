"""The analysis pipeline: pure functions over numpy arrays, one module per step (DESIGN.md section 2)."""
