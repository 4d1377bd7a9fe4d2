"""The HTTP API: FastAPI app factory, one router per context, problem+json errors."""
