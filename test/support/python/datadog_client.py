"""The official Datadog Python client, unmodified, against orgtally: prints what it read as one JSON object.

argv: base URL. Keys from DD_API_KEY / DD_APP_KEY. Every call goes through the client's own models, so a field
it cannot parse (a date-time it refuses, a string where it wants an integer) fails here.
"""
import json
import os
import sys
from datetime import datetime

from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v1.api.usage_metering_api import UsageMeteringApi as V1
from datadog_api_client.v2.api.usage_metering_api import UsageMeteringApi as V2

configuration = Configuration(host=sys.argv[1])
configuration.api_key["apiKeyAuth"] = os.environ["DD_API_KEY"]
configuration.api_key["appKeyAuth"] = os.environ["DD_APP_KEY"]

out = {}
with ApiClient(configuration) as api_client:
    v1, v2 = V1(api_client), V2(api_client)
    billable = v1.get_usage_billable_summary(month=datetime(2026, 10, 1))
    out["billable"] = [
        {"public_id": r.public_id, "usage": {k: v for k, v in r.usage.to_dict().items()}} for r in billable.usage
    ]
    rows, next_id, pages = [], None, 0
    while True:
        kwargs = {"next_record_id": next_id} if next_id else {}
        res = v1.get_monthly_usage_attribution(
            start_month=datetime(2026, 10, 1), end_month=datetime(2026, 10, 1), fields="*", **kwargs
        )
        pages += 1
        rows += [
            {"public_id": r.public_id, "tags": r.tags.to_dict() if r.tags else {}, "values": r.values.to_dict()}
            for r in res.usage
        ]
        next_id = res.metadata.pagination.next_record_id
        if not next_id:
            break
    out["monthly"] = {"pages": pages, "rows": rows}
    cost = v2.get_historical_cost_by_org(start_month=datetime(2026, 10, 1), end_month=datetime(2026, 10, 1), view="sub-org")
    out["historical"] = [
        # currency is orgtally's own attribute: the client keeps what its model does not declare
        {"public_id": d.attributes.public_id, "total_cost": d.attributes.total_cost, "currency": d.attributes.get("currency")}
        for d in cost.data
    ]
print(json.dumps(out, default=str))
