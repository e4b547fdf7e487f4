"""Console accounts: passwords, the second factor, sessions and login throttles."""
