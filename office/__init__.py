"""Office documents built from the database: the ledger workbook (ledger.py); and read into
it: a plan's task-division table (plan_import.py, pure apart from its file readers).

Presentation, not storage: `office` reads through `db` and may use `jobs`, and never imports
`telegram` or `bot` (texts such as status labels are passed in by the caller).
"""
