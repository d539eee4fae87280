from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ObserveBatchRequest(_message.Message):
    __slots__ = ("signals",)
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    signals: _containers.RepeatedCompositeFieldContainer[ObserveRequest]
    def __init__(self, signals: _Optional[_Iterable[_Union[ObserveRequest, _Mapping]]] = ...) -> None: ...

class ObserveBatchReply(_message.Message):
    __slots__ = ("counted", "fired")
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    FIRED_FIELD_NUMBER: _ClassVar[int]
    counted: int
    fired: int
    def __init__(self, counted: _Optional[int] = ..., fired: _Optional[int] = ...) -> None: ...

class ObserveRequest(_message.Message):
    __slots__ = ("topics", "combos", "ts_ms", "customer_id", "agent_id", "now_ms")
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    COMBOS_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    NOW_MS_FIELD_NUMBER: _ClassVar[int]
    topics: _containers.RepeatedScalarFieldContainer[str]
    combos: _containers.RepeatedScalarFieldContainer[str]
    ts_ms: int
    customer_id: str
    agent_id: str
    now_ms: int
    def __init__(self, topics: _Optional[_Iterable[str]] = ..., combos: _Optional[_Iterable[str]] = ..., ts_ms: _Optional[int] = ..., customer_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., now_ms: _Optional[int] = ...) -> None: ...
