"""Follow-up after a procedure: schedules, assessments, retreatment."""
