"""Groups of component types the plain-text reader reasons with, in one place."""

from __future__ import annotations

from ...model.vocabulary import ComponentType as T

#: What people hold in their hands: the client of a system.
CLIENTS = (T.BROWSER, T.MOBILE_APP, T.DESKTOP_APP, T.DEVICE)
#: Clients and web applications: what "both clients" can refer to.
CLIENT_LIKE = frozenset({T.BROWSER, T.MOBILE_APP, T.DESKTOP_APP, T.WEB_APPLICATION})
#: Components that run code and act.
ACTIVE_TYPES = frozenset(set(CLIENTS) | {T.WEB_APPLICATION, T.API_SERVICE, T.BACKGROUND_WORKER, T.SERVERLESS_FUNCTION})
#: Components that start things: the implicit subject of "assets are fetched from S3".
CONTEXT_TYPES = frozenset(set(CLIENTS) | {T.WEB_APPLICATION, T.API_SERVICE})
#: The system's own server-side code.
BACKEND_TYPES = frozenset({T.WEB_APPLICATION, T.API_SERVICE, T.BACKGROUND_WORKER})
BACKENDS = (T.WEB_APPLICATION, T.API_SERVICE, T.SERVERLESS_FUNCTION, T.BACKGROUND_WORKER)
#: Platforms that host other components.
HOSTING_TYPES = frozenset({T.HOST, T.CONTAINER_PLATFORM})
#: What stands in front of an application and passes requests on.
FRONTS = frozenset({T.API_GATEWAY, T.LOAD_BALANCER, T.REVERSE_PROXY})
FRONT_DOOR = FRONTS | {T.CDN}
#: The first component a client reaches, in order of preference.
ENTRY_ORDER = (T.CDN, T.REVERSE_PROXY, T.LOAD_BALANCER, T.API_GATEWAY, T.WEB_APPLICATION, T.API_SERVICE)
#: What clients reach first; an unconnected one is assumed to be used by the client.
EDGE_TYPES = FRONT_DOOR | {T.IDENTITY_PROVIDER, T.DNS}
#: Where data is kept.
STORE_TYPES = frozenset({T.OBJECT_STORAGE, T.NOSQL_DB, T.RELATIONAL_DB, T.FILE_STORAGE})
#: What passes data on, so "... to Kinesis. A Lambda ..." continues from it.
CHAIN_TYPES = frozenset({T.MESSAGE_QUEUE})
#: Generic components that are someone else's system ("the hospital's EHR").
OUTSIDE_TYPES = frozenset({T.THIRD_PARTY_API, T.PAYMENT_PROCESSOR, T.MESSAGING_SERVICE})
