"""The dashboard: server-rendered pages in English and Urdu."""
