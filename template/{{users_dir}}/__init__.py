"""User accounts: table, schemas, storage, passwords, tokens and the HTTP routes."""
