"""Every feature's tables, imported so that the metadata (and Alembic) sees them all."""

from laotie.accounts import models as accounts_models
from laotie.affiliate import models as affiliate_models
from laotie.analytics import models as analytics_models
from laotie.catalog import models as catalog_models
from laotie.db.base import Base
from laotie.live import models as live_models
from laotie.orders import models as orders_models
from laotie.supply import models as supply_models
from laotie.traffic import models as traffic_models
from laotie.trust import models as trust_models
from laotie.video import models as video_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "affiliate_models",
    "analytics_models",
    "catalog_models",
    "live_models",
    "metadata",
    "orders_models",
    "supply_models",
    "traffic_models",
    "trust_models",
    "video_models",
]
