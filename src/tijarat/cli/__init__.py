"""The `tijarat` command line."""
