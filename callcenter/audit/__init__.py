"""The audit trail: an append-only, hash-chained log with signed checkpoints."""
