"""Identity: the people who sign in (business owners, institution operators), their
password hashes, lockouts and language. The dashboard signs them in; the CLI seeds them."""
