"""The data subject's rights: export and erase everything held for a phone number."""
