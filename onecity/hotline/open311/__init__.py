"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2/.

    discovery.{json,xml}                 what this endpoint supports
    services.{json,xml}                  the request types (active leaf hotline categories)
    services/<service_code>.{json,xml}   a service definition: the extra attributes (district)
    requests.{json,xml}        GET       the key's requests, filtered; POST files one (API key)
    requests/<id>.{json,xml}   GET       one of the key's requests by tracking number (API key)

Reads are per key: a client sees only the requests it filed with its `api_key`, never cases
from the portal, the phone or another client. Decision record: docs/decisions/0008-open311.md.
"""
