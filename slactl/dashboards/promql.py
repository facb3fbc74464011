"""The dashboards' PromQL now lives in the one PromQL room, :mod:`slactl.promql.queries`.

Re-exported here for the dashboard modules that still import it from this path.
"""

from slactl.promql.burn import BUDGET_MINUTES
from slactl.promql.queries import (
    PAGE_WINDOWS,
    TICKET_WINDOWS,
    ServiceQueries,
    percentiles,
    string,
    tier_targets,
)

__all__ = ["BUDGET_MINUTES", "PAGE_WINDOWS", "TICKET_WINDOWS", "ServiceQueries", "percentiles", "string", "tier_targets"]
