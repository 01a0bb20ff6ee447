"""Web plumbing shared by every feature: access rules, request handling,
security headers, forms, the menu and home page, CSV and SVG responses, and the
pages every site has (home, language switch, errors)."""
