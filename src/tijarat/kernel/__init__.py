"""Shared building blocks every context may import; imports nothing else of ours."""
