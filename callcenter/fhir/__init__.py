"""The FHIR R4 door: practice software reads agendas and appointments, books and cancels."""
