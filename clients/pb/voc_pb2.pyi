from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIER_UNSPECIFIED: _ClassVar[Tier]
    STANDARD: _ClassVar[Tier]
    VIP: _ClassVar[Tier]
    VVIP: _ClassVar[Tier]

class NpsCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NPS_CATEGORY_UNSPECIFIED: _ClassVar[NpsCategory]
    DETRACTOR: _ClassVar[NpsCategory]
    PASSIVE: _ClassVar[NpsCategory]
    PROMOTER: _ClassVar[NpsCategory]
    UNKNOWN: _ClassVar[NpsCategory]

class Polarity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLARITY_UNSPECIFIED: _ClassVar[Polarity]
    COMPLAINT: _ClassVar[Polarity]
    PRAISE: _ClassVar[Polarity]
    NEUTRAL: _ClassVar[Polarity]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    GREEN: _ClassVar[Priority]
    YELLOW: _ClassVar[Priority]
    ORANGE: _ClassVar[Priority]
    RED: _ClassVar[Priority]

class Speaker(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPEAKER_UNSPECIFIED: _ClassVar[Speaker]
    CUSTOMER: _ClassVar[Speaker]
    AGENT: _ClassVar[Speaker]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    VOICE: _ClassVar[Channel]
    CHAT: _ClassVar[Channel]
    EMAIL: _ClassVar[Channel]
    SOCIAL: _ClassVar[Channel]
    SURVEY: _ClassVar[Channel]

class TriggerLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_LEVEL_UNSPECIFIED: _ClassVar[TriggerLevel]
    P0: _ClassVar[TriggerLevel]
    P1: _ClassVar[TriggerLevel]
    P2: _ClassVar[TriggerLevel]

class TriggerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_KIND_UNSPECIFIED: _ClassVar[TriggerKind]
    AGENT_REPORTS: _ClassVar[TriggerKind]
    WEAK_SIGNAL: _ClassVar[TriggerKind]

class TriggerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_STATE_UNSPECIFIED: _ClassVar[TriggerState]
    OPEN: _ClassVar[TriggerState]
    ACKED: _ClassVar[TriggerState]
    RESOLVED: _ClassVar[TriggerState]
TIER_UNSPECIFIED: Tier
STANDARD: Tier
VIP: Tier
VVIP: Tier
NPS_CATEGORY_UNSPECIFIED: NpsCategory
DETRACTOR: NpsCategory
PASSIVE: NpsCategory
PROMOTER: NpsCategory
UNKNOWN: NpsCategory
POLARITY_UNSPECIFIED: Polarity
COMPLAINT: Polarity
PRAISE: Polarity
NEUTRAL: Polarity
PRIORITY_UNSPECIFIED: Priority
GREEN: Priority
YELLOW: Priority
ORANGE: Priority
RED: Priority
SPEAKER_UNSPECIFIED: Speaker
CUSTOMER: Speaker
AGENT: Speaker
CHANNEL_UNSPECIFIED: Channel
VOICE: Channel
CHAT: Channel
EMAIL: Channel
SOCIAL: Channel
SURVEY: Channel
TRIGGER_LEVEL_UNSPECIFIED: TriggerLevel
P0: TriggerLevel
P1: TriggerLevel
P2: TriggerLevel
TRIGGER_KIND_UNSPECIFIED: TriggerKind
AGENT_REPORTS: TriggerKind
WEAK_SIGNAL: TriggerKind
TRIGGER_STATE_UNSPECIFIED: TriggerState
OPEN: TriggerState
ACKED: TriggerState
RESOLVED: TriggerState

class CardRequest(_message.Message):
    __slots__ = ("customer_id", "interaction_id", "locale")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    interaction_id: str
    locale: str
    def __init__(self, customer_id: _Optional[str] = ..., interaction_id: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...

class Nps(_message.Message):
    __slots__ = ("score", "category", "surveyed_at_ms")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SURVEYED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    score: int
    category: NpsCategory
    surveyed_at_ms: int
    def __init__(self, score: _Optional[int] = ..., category: _Optional[_Union[NpsCategory, str]] = ..., surveyed_at_ms: _Optional[int] = ...) -> None: ...

class Csat(_message.Message):
    __slots__ = ("score", "agent_id", "at_ms")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    score: int
    agent_id: str
    at_ms: int
    def __init__(self, score: _Optional[int] = ..., agent_id: _Optional[str] = ..., at_ms: _Optional[int] = ...) -> None: ...

class CardTopic(_message.Message):
    __slots__ = ("topic", "label", "polarity", "count", "last_seen_ms")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    POLARITY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    topic: str
    label: str
    polarity: Polarity
    count: int
    last_seen_ms: int
    def __init__(self, topic: _Optional[str] = ..., label: _Optional[str] = ..., polarity: _Optional[_Union[Polarity, str]] = ..., count: _Optional[int] = ..., last_seen_ms: _Optional[int] = ...) -> None: ...

class Emotion(_message.Message):
    __slots__ = ("label", "intensity", "valence", "arousal")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    VALENCE_FIELD_NUMBER: _ClassVar[int]
    AROUSAL_FIELD_NUMBER: _ClassVar[int]
    label: str
    intensity: float
    valence: float
    arousal: float
    def __init__(self, label: _Optional[str] = ..., intensity: _Optional[float] = ..., valence: _Optional[float] = ..., arousal: _Optional[float] = ...) -> None: ...

class SummaryCard(_message.Message):
    __slots__ = ("customer_id", "known", "tier", "nps", "last_csat", "topics", "emotion", "priority", "alerts", "opening_line", "active_incidents", "server_time_us", "name", "locale", "escalation_threat", "escalation_phrase")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    NPS_FIELD_NUMBER: _ClassVar[int]
    LAST_CSAT_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    OPENING_LINE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_US_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_THREAT_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_PHRASE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    known: bool
    tier: Tier
    nps: Nps
    last_csat: Csat
    topics: _containers.RepeatedCompositeFieldContainer[CardTopic]
    emotion: Emotion
    priority: Priority
    alerts: _containers.RepeatedScalarFieldContainer[str]
    opening_line: str
    active_incidents: _containers.RepeatedCompositeFieldContainer[Trigger]
    server_time_us: int
    name: str
    locale: str
    escalation_threat: bool
    escalation_phrase: str
    def __init__(self, customer_id: _Optional[str] = ..., known: _Optional[bool] = ..., tier: _Optional[_Union[Tier, str]] = ..., nps: _Optional[_Union[Nps, _Mapping]] = ..., last_csat: _Optional[_Union[Csat, _Mapping]] = ..., topics: _Optional[_Iterable[_Union[CardTopic, _Mapping]]] = ..., emotion: _Optional[_Union[Emotion, _Mapping]] = ..., priority: _Optional[_Union[Priority, str]] = ..., alerts: _Optional[_Iterable[str]] = ..., opening_line: _Optional[str] = ..., active_incidents: _Optional[_Iterable[_Union[Trigger, _Mapping]]] = ..., server_time_us: _Optional[int] = ..., name: _Optional[str] = ..., locale: _Optional[str] = ..., escalation_threat: _Optional[bool] = ..., escalation_phrase: _Optional[str] = ...) -> None: ...

class Typing(_message.Message):
    __slots__ = ("chars", "elapsed_ms", "deletions")
    CHARS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    DELETIONS_FIELD_NUMBER: _ClassVar[int]
    chars: int
    elapsed_ms: int
    deletions: int
    def __init__(self, chars: _Optional[int] = ..., elapsed_ms: _Optional[int] = ..., deletions: _Optional[int] = ...) -> None: ...

class Voice(_message.Message):
    __slots__ = ("speech_rate", "pitch_delta", "energy_db")
    SPEECH_RATE_FIELD_NUMBER: _ClassVar[int]
    PITCH_DELTA_FIELD_NUMBER: _ClassVar[int]
    ENERGY_DB_FIELD_NUMBER: _ClassVar[int]
    speech_rate: float
    pitch_delta: float
    energy_db: float
    def __init__(self, speech_rate: _Optional[float] = ..., pitch_delta: _Optional[float] = ..., energy_db: _Optional[float] = ...) -> None: ...

class Utterance(_message.Message):
    __slots__ = ("interaction_id", "customer_id", "agent_id", "speaker", "channel", "text", "ts_ms", "locale", "typing", "voice")
    INTERACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    interaction_id: str
    customer_id: str
    agent_id: str
    speaker: Speaker
    channel: Channel
    text: str
    ts_ms: int
    locale: str
    typing: Typing
    voice: Voice
    def __init__(self, interaction_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., speaker: _Optional[_Union[Speaker, str]] = ..., channel: _Optional[_Union[Channel, str]] = ..., text: _Optional[str] = ..., ts_ms: _Optional[int] = ..., locale: _Optional[str] = ..., typing: _Optional[_Union[Typing, _Mapping]] = ..., voice: _Optional[_Union[Voice, _Mapping]] = ...) -> None: ...

class TermMatch(_message.Message):
    __slots__ = ("term", "kind", "category", "start", "end", "negated", "weight")
    TERM_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    NEGATED_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    term: str
    kind: str
    category: str
    start: int
    end: int
    negated: bool
    weight: float
    def __init__(self, term: _Optional[str] = ..., kind: _Optional[str] = ..., category: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., negated: _Optional[bool] = ..., weight: _Optional[float] = ...) -> None: ...

class TopicHit(_message.Message):
    __slots__ = ("topic", "polarity", "score")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    POLARITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    topic: str
    polarity: Polarity
    score: float
    def __init__(self, topic: _Optional[str] = ..., polarity: _Optional[_Union[Polarity, str]] = ..., score: _Optional[float] = ...) -> None: ...

class UtteranceScore(_message.Message):
    __slots__ = ("interaction_id", "matches", "topics", "emotion", "live", "escalation", "triggers", "lexicon_version", "combos", "escalation_threat", "escalation_phrase")
    INTERACTION_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    LEXICON_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMBOS_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_THREAT_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_PHRASE_FIELD_NUMBER: _ClassVar[int]
    interaction_id: str
    matches: _containers.RepeatedCompositeFieldContainer[TermMatch]
    topics: _containers.RepeatedCompositeFieldContainer[TopicHit]
    emotion: Emotion
    live: Emotion
    escalation: bool
    triggers: _containers.RepeatedCompositeFieldContainer[Trigger]
    lexicon_version: str
    combos: _containers.RepeatedScalarFieldContainer[str]
    escalation_threat: bool
    escalation_phrase: str
    def __init__(self, interaction_id: _Optional[str] = ..., matches: _Optional[_Iterable[_Union[TermMatch, _Mapping]]] = ..., topics: _Optional[_Iterable[_Union[TopicHit, _Mapping]]] = ..., emotion: _Optional[_Union[Emotion, _Mapping]] = ..., live: _Optional[_Union[Emotion, _Mapping]] = ..., escalation: _Optional[bool] = ..., triggers: _Optional[_Iterable[_Union[Trigger, _Mapping]]] = ..., lexicon_version: _Optional[str] = ..., combos: _Optional[_Iterable[str]] = ..., escalation_threat: _Optional[bool] = ..., escalation_phrase: _Optional[str] = ...) -> None: ...

class EndInteractionRequest(_message.Message):
    __slots__ = ("interaction_id", "customer_id", "agent_id")
    INTERACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    interaction_id: str
    customer_id: str
    agent_id: str
    def __init__(self, interaction_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class InteractionSummary(_message.Message):
    __slots__ = ("interaction_id", "customer_id", "topics", "peak_emotion", "utterances", "escalated")
    INTERACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    PEAK_EMOTION_FIELD_NUMBER: _ClassVar[int]
    UTTERANCES_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_FIELD_NUMBER: _ClassVar[int]
    interaction_id: str
    customer_id: str
    topics: _containers.RepeatedCompositeFieldContainer[CardTopic]
    peak_emotion: Emotion
    utterances: int
    escalated: bool
    def __init__(self, interaction_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., topics: _Optional[_Iterable[_Union[CardTopic, _Mapping]]] = ..., peak_emotion: _Optional[_Union[Emotion, _Mapping]] = ..., utterances: _Optional[int] = ..., escalated: _Optional[bool] = ...) -> None: ...

class Feedback(_message.Message):
    __slots__ = ("feedback_id", "customer_id", "agent_id", "kind", "score", "text", "channel", "ts_ms", "locale")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Feedback.Kind]
        NPS: _ClassVar[Feedback.Kind]
        CSAT: _ClassVar[Feedback.Kind]
        COMPLAINT: _ClassVar[Feedback.Kind]
        PRAISE: _ClassVar[Feedback.Kind]
        COMMENT: _ClassVar[Feedback.Kind]
    KIND_UNSPECIFIED: Feedback.Kind
    NPS: Feedback.Kind
    CSAT: Feedback.Kind
    COMPLAINT: Feedback.Kind
    PRAISE: Feedback.Kind
    COMMENT: Feedback.Kind
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    customer_id: str
    agent_id: str
    kind: Feedback.Kind
    score: int
    text: str
    channel: Channel
    ts_ms: int
    locale: str
    def __init__(self, feedback_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., kind: _Optional[_Union[Feedback.Kind, str]] = ..., score: _Optional[int] = ..., text: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., ts_ms: _Optional[int] = ..., locale: _Optional[str] = ...) -> None: ...

class FeedbackAck(_message.Message):
    __slots__ = ("feedback_id", "duplicate", "topics", "emotion")
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    duplicate: bool
    topics: _containers.RepeatedCompositeFieldContainer[TopicHit]
    emotion: Emotion
    def __init__(self, feedback_id: _Optional[str] = ..., duplicate: _Optional[bool] = ..., topics: _Optional[_Iterable[_Union[TopicHit, _Mapping]]] = ..., emotion: _Optional[_Union[Emotion, _Mapping]] = ...) -> None: ...

class AgentRequest(_message.Message):
    __slots__ = ("agent_id", "comments_limit")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENTS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    comments_limit: int
    def __init__(self, agent_id: _Optional[str] = ..., comments_limit: _Optional[int] = ...) -> None: ...

class CsatWindow(_message.Message):
    __slots__ = ("window", "count", "average")
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_FIELD_NUMBER: _ClassVar[int]
    window: str
    count: int
    average: float
    def __init__(self, window: _Optional[str] = ..., count: _Optional[int] = ..., average: _Optional[float] = ...) -> None: ...

class AgentComment(_message.Message):
    __slots__ = ("feedback_id", "customer_id", "score", "text", "at_ms", "emotion", "topics")
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    customer_id: str
    score: int
    text: str
    at_ms: int
    emotion: Emotion
    topics: _containers.RepeatedCompositeFieldContainer[TopicHit]
    def __init__(self, feedback_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., score: _Optional[int] = ..., text: _Optional[str] = ..., at_ms: _Optional[int] = ..., emotion: _Optional[_Union[Emotion, _Mapping]] = ..., topics: _Optional[_Iterable[_Union[TopicHit, _Mapping]]] = ...) -> None: ...

class AgentDashboard(_message.Message):
    __slots__ = ("agent_id", "csat", "comments", "server_time_ms")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CSAT_FIELD_NUMBER: _ClassVar[int]
    COMMENTS_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    csat: _containers.RepeatedCompositeFieldContainer[CsatWindow]
    comments: _containers.RepeatedCompositeFieldContainer[AgentComment]
    server_time_ms: int
    def __init__(self, agent_id: _Optional[str] = ..., csat: _Optional[_Iterable[_Union[CsatWindow, _Mapping]]] = ..., comments: _Optional[_Iterable[_Union[AgentComment, _Mapping]]] = ..., server_time_ms: _Optional[int] = ...) -> None: ...

class IssueReport(_message.Message):
    __slots__ = ("report_id", "agent_id", "tag", "customer_id", "interaction_id", "note", "ts_ms")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    agent_id: str
    tag: str
    customer_id: str
    interaction_id: str
    note: str
    ts_ms: int
    def __init__(self, report_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., tag: _Optional[str] = ..., customer_id: _Optional[str] = ..., interaction_id: _Optional[str] = ..., note: _Optional[str] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class ReportAck(_message.Message):
    __slots__ = ("report_id", "duplicate", "distinct_agents", "threshold", "window_s", "trigger", "tag")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_AGENTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    duplicate: bool
    distinct_agents: int
    threshold: int
    window_s: int
    trigger: Trigger
    tag: str
    def __init__(self, report_id: _Optional[str] = ..., duplicate: _Optional[bool] = ..., distinct_agents: _Optional[int] = ..., threshold: _Optional[int] = ..., window_s: _Optional[int] = ..., trigger: _Optional[_Union[Trigger, _Mapping]] = ..., tag: _Optional[str] = ...) -> None: ...

class Trigger(_message.Message):
    __slots__ = ("trigger_id", "level", "kind", "key", "count", "window_s", "first_ms", "fired_ms", "owner", "message", "sample_agent_ids", "sample_customer_ids", "state", "acked_by", "acked_ms", "deliveries", "resolved_by", "resolved_ms")
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    FIRST_MS_FIELD_NUMBER: _ClassVar[int]
    FIRED_MS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACKED_BY_FIELD_NUMBER: _ClassVar[int]
    ACKED_MS_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_MS_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    level: TriggerLevel
    kind: TriggerKind
    key: str
    count: int
    window_s: int
    first_ms: int
    fired_ms: int
    owner: str
    message: str
    sample_agent_ids: _containers.RepeatedScalarFieldContainer[str]
    sample_customer_ids: _containers.RepeatedScalarFieldContainer[str]
    state: TriggerState
    acked_by: str
    acked_ms: int
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    resolved_by: str
    resolved_ms: int
    def __init__(self, trigger_id: _Optional[str] = ..., level: _Optional[_Union[TriggerLevel, str]] = ..., kind: _Optional[_Union[TriggerKind, str]] = ..., key: _Optional[str] = ..., count: _Optional[int] = ..., window_s: _Optional[int] = ..., first_ms: _Optional[int] = ..., fired_ms: _Optional[int] = ..., owner: _Optional[str] = ..., message: _Optional[str] = ..., sample_agent_ids: _Optional[_Iterable[str]] = ..., sample_customer_ids: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[TriggerState, str]] = ..., acked_by: _Optional[str] = ..., acked_ms: _Optional[int] = ..., deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ..., resolved_by: _Optional[str] = ..., resolved_ms: _Optional[int] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("owner", "type", "state", "attempts", "last_error", "delivered_ms", "next_ms", "escalation")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_MS_FIELD_NUMBER: _ClassVar[int]
    NEXT_MS_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    owner: str
    type: str
    state: str
    attempts: int
    last_error: str
    delivered_ms: int
    next_ms: int
    escalation: bool
    def __init__(self, owner: _Optional[str] = ..., type: _Optional[str] = ..., state: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., delivered_ms: _Optional[int] = ..., next_ms: _Optional[int] = ..., escalation: _Optional[bool] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("min_level", "since_ms")
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    min_level: TriggerLevel
    since_ms: int
    def __init__(self, min_level: _Optional[_Union[TriggerLevel, str]] = ..., since_ms: _Optional[int] = ...) -> None: ...

class AckTriggerRequest(_message.Message):
    __slots__ = ("trigger_id", "by", "resolve")
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    by: str
    resolve: bool
    def __init__(self, trigger_id: _Optional[str] = ..., by: _Optional[str] = ..., resolve: _Optional[bool] = ...) -> None: ...

class ListTriggersRequest(_message.Message):
    __slots__ = ("state", "since_ms", "limit")
    STATE_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    state: TriggerState
    since_ms: int
    limit: int
    def __init__(self, state: _Optional[_Union[TriggerState, str]] = ..., since_ms: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class TriggerList(_message.Message):
    __slots__ = ("triggers",)
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    triggers: _containers.RepeatedCompositeFieldContainer[Trigger]
    def __init__(self, triggers: _Optional[_Iterable[_Union[Trigger, _Mapping]]] = ...) -> None: ...

class KpiRequest(_message.Message):
    __slots__ = ("since_ms", "until_ms", "group_by")
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    since_ms: int
    until_ms: int
    group_by: str
    def __init__(self, since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., group_by: _Optional[str] = ...) -> None: ...

class KpiRow(_message.Message):
    __slots__ = ("group", "triggers", "responded", "responded_on_time", "resolved", "resolved_on_time", "overdue", "on_time_response", "on_time_closure", "closed_loop", "median_min_to_ack", "median_min_to_resolve")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_ON_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_ON_TIME_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    ON_TIME_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ON_TIME_CLOSURE_FIELD_NUMBER: _ClassVar[int]
    CLOSED_LOOP_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_MIN_TO_ACK_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_MIN_TO_RESOLVE_FIELD_NUMBER: _ClassVar[int]
    group: str
    triggers: int
    responded: int
    responded_on_time: int
    resolved: int
    resolved_on_time: int
    overdue: int
    on_time_response: float
    on_time_closure: float
    closed_loop: float
    median_min_to_ack: float
    median_min_to_resolve: float
    def __init__(self, group: _Optional[str] = ..., triggers: _Optional[int] = ..., responded: _Optional[int] = ..., responded_on_time: _Optional[int] = ..., resolved: _Optional[int] = ..., resolved_on_time: _Optional[int] = ..., overdue: _Optional[int] = ..., on_time_response: _Optional[float] = ..., on_time_closure: _Optional[float] = ..., closed_loop: _Optional[float] = ..., median_min_to_ack: _Optional[float] = ..., median_min_to_resolve: _Optional[float] = ...) -> None: ...

class KpiReport(_message.Message):
    __slots__ = ("since_ms", "until_ms", "group_by", "rows")
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    since_ms: int
    until_ms: int
    group_by: str
    rows: _containers.RepeatedCompositeFieldContainer[KpiRow]
    def __init__(self, since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., group_by: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[KpiRow, _Mapping]]] = ...) -> None: ...
