"""What reviewers and users read: tidy tables, workbooks, charts, notebook helpers, HTML rendering, the
release index and comparison of releases.
"""
