from clients.pb import voc_pb2 as _voc_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Profile(_message.Message):
    __slots__ = ("customer_id", "tier", "name", "locale", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tier: _voc_pb2.Tier
    name: str
    locale: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, customer_id: _Optional[str] = ..., tier: _Optional[_Union[_voc_pb2.Tier, str]] = ..., name: _Optional[str] = ..., locale: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpsertSummary(_message.Message):
    __slots__ = ("upserted", "rejected", "errors")
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    upserted: int
    rejected: int
    errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, upserted: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[str]] = ...) -> None: ...

class ReloadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadReply(_message.Message):
    __slots__ = ("version", "terms")
    class TermsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    version: str
    terms: _containers.ScalarMap[str, int]
    def __init__(self, version: _Optional[str] = ..., terms: _Optional[_Mapping[str, int]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Stats(_message.Message):
    __slots__ = ("customers", "agents", "feedback", "reports", "triggers", "store_bytes", "map_size", "lexicon_version", "live_interactions", "uptime_s", "version", "pid", "processes")
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    STORE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAP_SIZE_FIELD_NUMBER: _ClassVar[int]
    LEXICON_VERSION_FIELD_NUMBER: _ClassVar[int]
    LIVE_INTERACTIONS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    customers: int
    agents: int
    feedback: int
    reports: int
    triggers: int
    store_bytes: int
    map_size: int
    lexicon_version: str
    live_interactions: int
    uptime_s: float
    version: str
    pid: int
    processes: _containers.RepeatedCompositeFieldContainer[ProcessState]
    def __init__(self, customers: _Optional[int] = ..., agents: _Optional[int] = ..., feedback: _Optional[int] = ..., reports: _Optional[int] = ..., triggers: _Optional[int] = ..., store_bytes: _Optional[int] = ..., map_size: _Optional[int] = ..., lexicon_version: _Optional[str] = ..., live_interactions: _Optional[int] = ..., uptime_s: _Optional[float] = ..., version: _Optional[str] = ..., pid: _Optional[int] = ..., processes: _Optional[_Iterable[_Union[ProcessState, _Mapping]]] = ...) -> None: ...

class ProcessState(_message.Message):
    __slots__ = ("pid", "role", "lexicon_version", "reload_seq", "loaded_ms")
    PID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LEXICON_VERSION_FIELD_NUMBER: _ClassVar[int]
    RELOAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    LOADED_MS_FIELD_NUMBER: _ClassVar[int]
    pid: int
    role: str
    lexicon_version: str
    reload_seq: int
    loaded_ms: int
    def __init__(self, pid: _Optional[int] = ..., role: _Optional[str] = ..., lexicon_version: _Optional[str] = ..., reload_seq: _Optional[int] = ..., loaded_ms: _Optional[int] = ...) -> None: ...
