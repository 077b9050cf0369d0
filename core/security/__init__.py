"""Security: permissions, passwords and accounts, browser sessions, user administration, the audit log, rate limits and the encryption key store."""
