"""Imports every domain's tables so metadata (and Alembic) sees them all."""

from pubdata.access import models as access_models  # noqa: F401
from pubdata.audit import models as audit_models  # noqa: F401
from pubdata.catalog import models as catalog_models  # noqa: F401
from pubdata.enterprise import models as enterprise_models  # noqa: F401
from pubdata.identity import models as identity_models  # noqa: F401
