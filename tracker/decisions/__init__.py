"""Decisions of the meeting, procedure plans and procedures performed."""
