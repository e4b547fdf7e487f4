"""The practice console's domain: accounts, second factor, sessions and the
views of what the phone line produced.  Nothing here knows Flask; the pages
live in :mod:`callcenter.web.console`."""
