"""Every table of the application, in one place, for migrations, ``create_all`` and tests.

Each feature declares its own tables in its ``models.py``; storage knows none
of them.  Importing this module declares them all on one metadata, so a
process that creates or migrates the schema imports it first.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from callcenter.accounts import models as accounts_models
from callcenter.agenda import models as agenda_models
from callcenter.appointments import models as appointments_models
from callcenter.audit import models as audit_models
from callcenter.calls import models as calls_models
from callcenter.fhir import models as fhir_models
from callcenter.messages import models as messages_models
from callcenter.notify import models as notify_models
from callcenter.patient_requests import models as patient_requests_models
from callcenter.patients import models as patients_models
from callcenter.replies import models as replies_models
from callcenter.security import models as security_models
from callcenter.storage.db import Base
from callcenter.waitlist import models as waitlist_models

#: The modules that declare tables, in no particular order.
MODEL_MODULES = (
    accounts_models,
    agenda_models,
    appointments_models,
    audit_models,
    calls_models,
    fhir_models,
    messages_models,
    notify_models,
    patient_requests_models,
    patients_models,
    replies_models,
    security_models,
    waitlist_models,
)

metadata: MetaData = Base.metadata
