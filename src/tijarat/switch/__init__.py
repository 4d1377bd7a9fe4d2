"""The instant payment hub: participants, alias directory, ISO 20022 messages, QR, settlement."""
