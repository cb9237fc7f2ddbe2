"""Notify (issue 15): the bilan mensuel delivered to each landlord, and alerts during service hours."""
