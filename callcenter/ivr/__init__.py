"""The voice menu: flows of nodes run on calls, answered with TwiML."""
