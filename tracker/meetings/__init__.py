"""RCP meetings: calendar, agendas, attendance and quorum."""
