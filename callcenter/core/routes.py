"""Every webhook path Twilio is sent to, in one place.

Domain code writes these paths into TwiML (Gather actions, Record callbacks,
Dial whisper pages, queue pages) and the web layer registers its routes with
the same constants, so a path renamed here changes both sides at once.  They
are root paths: Twilio resolves them against the URL it requested.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

TWILIO = "/twilio"

# -- voice: a call's life (callcenter.web.twilio.voice) ---------------------------
VOICE = f"{TWILIO}/voice"  # the number's Voice URL: a call comes in
STEP = f"{TWILIO}/step"  # every answer to a Gather, Record or Dial of the flow
STATUS = f"{TWILIO}/status"  # the number's status callback: the call ended
WHISPER = f"{TWILIO}/whisper"  # what a secretary hears before taking a transfer
WHISPER_ACCEPT = f"{TWILIO}/whisper/accept"  # the secretary's key after the whisper
FALLBACK = f"{TWILIO}/fallback"  # the number's fallback URL: the server failed
SMS = f"{TWILIO}/sms"  # the number's SMS URL: a text to the practice (answered with nothing)

# -- recordings and transcripts (callcenter.web.twilio.recordings) ----------------
RECORDING = f"{TWILIO}/recording"  # a recording is ready
TRANSCRIPTION = f"{TWILIO}/transcription"  # Twilio's transcript of it
REALTIME = f"{TWILIO}/realtime"  # real-time transcription events

# -- the waiting queue and the secretaries' line (callcenter.web.twilio.queue) ----
QUEUE = f"{TWILIO}/queue"
QUEUE_WAIT = f"{QUEUE}/wait"  # a waiting caller's hold loop
QUEUE_CHOICE = f"{QUEUE}/choice"  # a waiting caller's key: keep waiting or leave a message
QUEUE_CONNECT = f"{QUEUE}/connect"  # said to the caller as a secretary takes them
QUEUE_AGENT = f"{QUEUE}/agent"  # the secretaries' line: its number's Voice URL
QUEUE_AGENT_PIN = f"{QUEUE}/agent/pin"
QUEUE_AGENT_TAKE = f"{QUEUE}/agent/take"
QUEUE_AGENT_DONE = f"{QUEUE}/agent/done"


def url(path: str, query: Mapping[str, object] | None = None) -> str:
    """``path`` with its query string (``/twilio/step?seq=3``); the path alone without one."""
    return f"{path}?{urlencode(query)}" if query else path
