"""Building blocks every app may use, that belong to none of them (a plain package, not an app).

It imports Django only, never an app of the project, so any app can depend on it without an
import cycle: ``common.admin_blocks`` holds what the apps' admins share (badges, links, columns,
the read-only base and the course filter); ``common.rows`` writes several tables' rows in one
statement (a course with its groups, operation and steps); ``common.csv_files`` reads an uploaded
CSV file's text and records (a roster, an import).
"""
