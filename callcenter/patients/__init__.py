"""Patients: who is calling, identified by blind index and date of birth."""
