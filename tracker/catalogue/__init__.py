"""Reference lists edited by admins: indications and techniques."""
