"""OCR commands: the worker process and the « relancer » tools."""
