"""Landlord audit: hash chain over stored events (``chain``), reports (``report``, ``export``,
``pdf``) and their verification against the store (``verify``, ``ronde audit verify``)."""
