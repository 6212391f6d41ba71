"""Figures (matplotlib, Agg backend only; no pyplot state). One module per subject: compare.py for pre/post."""
