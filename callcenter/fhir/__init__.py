"""The FHIR R4 door: practice software reads schedules, slots and appointments, books and cancels."""
