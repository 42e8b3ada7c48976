"""bertcore: a small, readable BERT that shows its work (placeholder until the public API lands)."""
