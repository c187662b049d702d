"""Imports every domain's tables so metadata (and Alembic) sees them all."""

from pubdata import leases as worker_leases  # noqa: F401
from pubdata.access import models as access_models  # noqa: F401
from pubdata.assets.registry import models as asset_registry_models  # noqa: F401
from pubdata.assets.trusts import models as asset_trust_models  # noqa: F401
from pubdata.assets.valuation import models as asset_valuation_models  # noqa: F401
from pubdata.audit import models as audit_models  # noqa: F401
from pubdata.catalog import models as catalog_models  # noqa: F401
from pubdata.enterprise import models as enterprise_models  # noqa: F401
from pubdata.finance import models as finance_models  # noqa: F401
from pubdata.finance.consent import models as finance_consent_models  # noqa: F401
from pubdata.finance.loans import models as finance_loans_models  # noqa: F401
from pubdata.identity import models as identity_models  # noqa: F401
from pubdata.jobs import models as job_models  # noqa: F401
from pubdata.ledger import models as ledger_models  # noqa: F401
from pubdata.market import models as market_models  # noqa: F401
from pubdata.sharing import models as sharing_models  # noqa: F401
