"""Security: field encryption, the key ring and its rotation, PINs, S/MIME."""
