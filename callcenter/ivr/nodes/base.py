"""What every node type shares: its errors, its registry and its runtime context.

A node type is one small class registered under the name that flow files use
in ``type:``.  YAML names registered types; it never imports anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from callcenter.config.prompts import Catalogue
from callcenter.core import routes
from callcenter.core.spoken import spoken_relative
from callcenter.core.yaml_fields import Fields
from callcenter.ivr.twiml import Reply
from callcenter.ivr.urgency import ANSWER, BargeIn

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from callcenter.calls.models import CallRecord
    from callcenter.config.practice import Practice
    from callcenter.security.crypto import FieldCipher
    from callcenter.understanding import Catalogue as Understanding


# Silence twice ends any question, whatever its ``max_attempts`` says: the caller
# heard it once more, then a person or a message takes over (never a hang-up).
MAX_SILENCES = 2


class FlowError(Exception):
    """A flow file is wrong: the message names the file, the node and the field."""

    def __init__(self, file: str, node: str | None, field_name: str | None, message: str):
        self.file, self.node, self.field_name = file, node, field_name
        where = [file]
        if node:
            where.append(f"node '{node}'")
        if field_name:
            where.append(f"field '{field_name}'")
        super().__init__(f"{': '.join(where)}: {message}")


@dataclass
class CallContext:
    """What a node may use while answering one request of one call."""

    practice: Practice
    catalogue: Catalogue
    call: CallRecord
    now: datetime
    params: Mapping[str, str]
    seq: int  # the sequence number of the request being answered
    session: Session  # for nodes that store what the caller gave (never commits)
    cipher: FieldCipher  # blind indexes and explicit encryption: the call's, not a global
    notice: str = ""  # the recordings policy's notice, in the practice's language
    transcription: str = "speech"  # how messages become text (recordings policy engine)
    public_base_url: str = ""  # scheme and host Twilio calls, when configured
    understanding: Understanding | None = None  # words of whole requests (open question)

    @property
    def state(self) -> dict[str, Any]:
        return self.call.state

    def action(self) -> str:
        """The URL Twilio must request next (carries the next sequence number)."""
        return routes.url(routes.STEP, {"seq": self.seq + 1})

    def variables(self) -> dict[str, Any]:
        opening = self.practice.next_opening(self.now)
        here = self.now.astimezone(self.practice.tz)
        return {
            "practice_name": self.practice.name,
            # "cet après-midi à 14 h", "demain à 8 h 30": relative to the call's moment.
            "next_opening": spoken_relative(opening.astimezone(self.practice.tz), here)
            if opening
            else "",
            "policy_notice": self.notice,
        }

    def text(self, key: str) -> str:
        return self.catalogue.text(key, self.variables())

    def attempts(self, node_key: str) -> int:
        return int(self.state.get("attempts", {}).get(node_key, 0))

    def count_attempt(self, node_key: str) -> int:
        attempts = dict(self.state.get("attempts", {}))
        attempts[node_key] = attempts.get(node_key, 0) + 1
        self._update(attempts=attempts)
        return attempts[node_key]

    def reset_attempts(self, node_key: str) -> None:
        attempts = dict(self.state.get("attempts", {}))
        if attempts.pop(node_key, None) is not None:
            self._update(attempts=attempts)

    def remember(self, **values: Any) -> None:
        """Keep engine facts (never personal values) on the call."""
        self._update(**values)

    def _update(self, **values: Any) -> None:
        # A new dict, so SQLAlchemy sees the JSON column change.
        self.call.state = {**self.state, **values}


@dataclass
class Node:
    """A step of a flow.  Subclasses declare their fields and what they do."""

    type_name: ClassVar[str]
    file: str
    flow: str
    id: str
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.id}"

    # -- parsing helpers -------------------------------------------------
    def error(self, field_name: str | None, message: str) -> FlowError:
        return FlowError(self.file, self.id, field_name, message)

    @property
    def fields(self) -> Fields:
        """The node's fields, read like every YAML file's (errors name file, node and field)."""
        return Fields(self.raw, error=self.error)

    def opt(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        return self.fields.value(name, kind, _kind_name(kind), default)

    def req(self, name: str, kind: type | tuple[type, ...]) -> Any:
        return self.fields.value(name, kind, _kind_name(kind))

    def int_in(self, name: str, default: int, low: int, high: int) -> int:
        if self.raw.get(name) is None:  # a field left blank takes the default, as any other
            return default
        return self.fields.whole(name, low, high)

    def prompt_list(self, name: str) -> list[str]:
        value = self.raw.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, "must be a prompt key or a list of prompt keys")
        return list(value)

    # -- what subclasses provide -----------------------------------------
    FIELDS: ClassVar[frozenset[str]] = frozenset()

    def parse(self) -> None:
        """Read and check this node's fields from ``raw``."""

    def targets(self) -> dict[str, str]:
        """Field name → node reference, for reference and reachability checks."""
        return {}

    def transitions(self) -> list[tuple[str, str]]:
        """(what takes it, node reference) per way on, for the flow diagrams.

        The field names of ``targets`` unless a node can say more: a menu
        names the key and intent of each option rather than ``options[0].next``.
        """
        return list(self.targets().items())

    def prompts(self) -> dict[str, str]:
        """Field name → prompt key used by this node."""
        return {}

    def intents(self) -> list[str]:
        return []

    def enter(self, ctx: CallContext, reply: Reply) -> str | None:
        """Answer the node's arrival: a reference to go on to, or None once ``reply`` waits."""
        raise NotImplementedError

    def resume(self, ctx: CallContext, reply: Reply) -> str | None:
        """Handle Twilio's request back to this node (Gather, Record or Dial action)."""
        return self.enter(ctx, reply)

    def barge_in(self, ctx: CallContext) -> BargeIn:
        """What may reach the urgent route from the answer this node waits on.

        Keys and words by default; a node whose caller keys a long entry, or
        whose words are content (a message, a name), says so for that phase.
        """
        return ANSWER


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a text",
        int: "a whole number",
        list: "a list",
        dict: "a mapping",
        bool: "true/false",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


NODE_TYPES: dict[str, type[Node]] = {}


def node_type(name: str) -> Callable[[type[Node]], type[Node]]:
    """Register a node class under the ``type:`` name flow files use."""

    def register(cls: type[Node]) -> type[Node]:
        cls.type_name = name
        NODE_TYPES[name] = cls
        return cls

    return register
