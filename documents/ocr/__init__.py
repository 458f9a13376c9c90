"""OCR of scanned documents: a queue in the database, a bounded engine, a worker, truthful statuses."""
