"""The FHIR R4 door for practice software: ``/fhir/`` (see :mod:`callcenter.fhir`)."""

from callcenter.web.fhir.blueprint import bp

__all__ = ["bp"]
