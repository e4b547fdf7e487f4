"""Patients' SMS replies to the practice's number: OUI, ANNULER, STOP, START, anything else."""
