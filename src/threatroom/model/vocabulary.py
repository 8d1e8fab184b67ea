"""Closed vocabularies of the domain model: component types, data classes, zones, STRIDE."""

from __future__ import annotations

from enum import StrEnum


class ComponentType(StrEnum):
    """What a component is. Closed: input naming another type is rejected."""

    USER = "user"
    BROWSER = "browser"
    MOBILE_APP = "mobile_app"
    DESKTOP_APP = "desktop_app"
    DEVICE = "device"
    WEB_APPLICATION = "web_application"
    API_SERVICE = "api_service"
    BACKGROUND_WORKER = "background_worker"
    SERVERLESS_FUNCTION = "serverless_function"
    RELATIONAL_DB = "relational_db"
    NOSQL_DB = "nosql_db"
    CACHE = "cache"
    MESSAGE_QUEUE = "message_queue"
    OBJECT_STORAGE = "object_storage"
    FILE_STORAGE = "file_storage"
    SEARCH_ENGINE = "search_engine"
    DATA_WAREHOUSE = "data_warehouse"
    CDN = "cdn"
    DNS = "dns"
    LOAD_BALANCER = "load_balancer"
    API_GATEWAY = "api_gateway"
    REVERSE_PROXY = "reverse_proxy"
    IDENTITY_PROVIDER = "identity_provider"
    SECRETS_MANAGER = "secrets_manager"
    CI_CD = "ci_cd"
    CONTAINER_PLATFORM = "container_platform"
    HOST = "host"
    NETWORK = "network"
    THIRD_PARTY_API = "third_party_api"
    MESSAGING_SERVICE = "messaging_service"
    PAYMENT_PROCESSOR = "payment_processor"
    ANALYTICS = "analytics"
    LOGGING_MONITORING = "logging_monitoring"
    ML_MODEL = "ml_model"
    VECTOR_STORE = "vector_store"


#: Friendly spellings accepted in structured input, mapped to the closed vocabulary.
TYPE_SYNONYMS: dict[str, ComponentType] = {
    "actor": ComponentType.USER,
    "person": ComponentType.USER,
    "external_entity": ComponentType.USER,
    "client": ComponentType.BROWSER,
    "web_browser": ComponentType.BROWSER,
    "spa": ComponentType.BROWSER,
    "mobile": ComponentType.MOBILE_APP,
    "desktop": ComponentType.DESKTOP_APP,
    "iot_device": ComponentType.DEVICE,
    "web_app": ComponentType.WEB_APPLICATION,
    "webapp": ComponentType.WEB_APPLICATION,
    "api": ComponentType.API_SERVICE,
    "service": ComponentType.API_SERVICE,
    "microservice": ComponentType.API_SERVICE,
    "worker": ComponentType.BACKGROUND_WORKER,
    "lambda": ComponentType.SERVERLESS_FUNCTION,
    "function": ComponentType.SERVERLESS_FUNCTION,
    "database": ComponentType.RELATIONAL_DB,
    "sql_database": ComponentType.RELATIONAL_DB,
    "rdbms": ComponentType.RELATIONAL_DB,
    "nosql": ComponentType.NOSQL_DB,
    "document_db": ComponentType.NOSQL_DB,
    "queue": ComponentType.MESSAGE_QUEUE,
    "stream": ComponentType.MESSAGE_QUEUE,
    "broker": ComponentType.MESSAGE_QUEUE,
    "bucket": ComponentType.OBJECT_STORAGE,
    "blob_storage": ComponentType.OBJECT_STORAGE,
    "filesystem": ComponentType.FILE_STORAGE,
    "search": ComponentType.SEARCH_ENGINE,
    "warehouse": ComponentType.DATA_WAREHOUSE,
    "lb": ComponentType.LOAD_BALANCER,
    "gateway": ComponentType.API_GATEWAY,
    "proxy": ComponentType.REVERSE_PROXY,
    "waf": ComponentType.REVERSE_PROXY,
    "idp": ComponentType.IDENTITY_PROVIDER,
    "kms": ComponentType.SECRETS_MANAGER,
    "vault": ComponentType.SECRETS_MANAGER,
    "pipeline": ComponentType.CI_CD,
    "kubernetes": ComponentType.CONTAINER_PLATFORM,
    "vm": ComponentType.HOST,
    "server": ComponentType.HOST,
    "saas": ComponentType.THIRD_PARTY_API,
    "external_api": ComponentType.THIRD_PARTY_API,
    "email": ComponentType.MESSAGING_SERVICE,
    "sms": ComponentType.MESSAGING_SERVICE,
    "push": ComponentType.MESSAGING_SERVICE,
    "payment": ComponentType.PAYMENT_PROCESSOR,
    "logging": ComponentType.LOGGING_MONITORING,
    "monitoring": ComponentType.LOGGING_MONITORING,
    "llm": ComponentType.ML_MODEL,
    "vector_db": ComponentType.VECTOR_STORE,
}

#: Types drawn as data stores in a data-flow diagram.
DATA_STORE_TYPES = frozenset(
    {
        ComponentType.RELATIONAL_DB,
        ComponentType.NOSQL_DB,
        ComponentType.CACHE,
        ComponentType.OBJECT_STORAGE,
        ComponentType.FILE_STORAGE,
        ComponentType.SEARCH_ENGINE,
        ComponentType.DATA_WAREHOUSE,
        ComponentType.VECTOR_STORE,
        ComponentType.SECRETS_MANAGER,
    }
)

#: Types drawn as external entities in a data-flow diagram.
EXTERNAL_TYPES = frozenset({ComponentType.USER})


class DataClass(StrEnum):
    """Classification of data handled by a component, flow or asset."""

    PUBLIC = "public"
    INTERNAL = "internal"
    PII = "pii"
    PHI = "phi"
    PAYMENT_CARD = "payment_card"
    CREDENTIALS = "credentials"
    FINANCIAL = "financial"


#: How much a data class raises the damage of a breach (0 = none).
DATA_SENSITIVITY: dict[DataClass, int] = {
    DataClass.PUBLIC: 0,
    DataClass.INTERNAL: 1,
    DataClass.PII: 2,
    DataClass.FINANCIAL: 2,
    DataClass.PHI: 3,
    DataClass.PAYMENT_CARD: 3,
    DataClass.CREDENTIALS: 3,
}


class ZoneKind(StrEnum):
    """Kinds of trust zone; trust decreases from ``restricted`` to ``internet``."""

    INTERNET = "internet"
    CLIENT = "client"
    DMZ = "dmz"
    CLOUD = "cloud"
    PRIVATE = "private"
    ON_PREMISES = "on_premises"
    THIRD_PARTY = "third_party"
    RESTRICTED = "restricted"


class Stride(StrEnum):
    SPOOFING = "Spoofing"
    TAMPERING = "Tampering"
    REPUDIATION = "Repudiation"
    INFORMATION_DISCLOSURE = "Information Disclosure"
    DENIAL_OF_SERVICE = "Denial of Service"
    ELEVATION_OF_PRIVILEGE = "Elevation of Privilege"


class Severity(StrEnum):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    CRITICAL = "Critical"


SEVERITY_ORDER = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class AuthMethod(StrEnum):
    """Ways a component authenticates its callers."""

    NONE = "none"
    PASSWORD = "password"
    MFA = "mfa"
    OIDC = "oidc"
    OAUTH2 = "oauth2"
    SAML = "saml"
    API_KEY = "api_key"
    JWT = "jwt"
    SESSION_COOKIE = "session_cookie"
    MTLS = "mtls"
    IAM = "iam"
    SMS_OTP = "sms_otp"
    BASIC = "basic"
    CERTIFICATE = "certificate"


class Feature(StrEnum):
    """Behaviours of a component that change which threats apply."""

    FILE_UPLOAD = "file_upload"
    FILE_DOWNLOAD = "file_download"
    DATA_IMPORT = "data_import"
    DATA_EXPORT = "data_export"
    SHARING_LINKS = "sharing_links"
    WEBHOOKS = "webhooks"
    MULTI_TENANT = "multi_tenant"
    ADMIN_INTERFACE = "admin_interface"
    USER_GENERATED_CONTENT = "user_generated_content"
    SEARCH = "search"
    PAYMENTS = "payments"
    PUBLIC_API = "public_api"
    USER_ACCOUNTS = "user_accounts"
    NOTIFICATIONS = "notifications"
    REALTIME = "realtime"
    OFFLINE_SYNC = "offline_sync"
    SCHEDULED_JOBS = "scheduled_jobs"
    OUTBOUND_REQUESTS = "outbound_requests"
    IMAGE_PROCESSING = "image_processing"
    LLM_PROMPTS = "llm_prompts"
    GAME_STATE = "game_state"
