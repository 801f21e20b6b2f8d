"""Office documents built from the database: the ledger workbook (ledger.py).

Presentation, not storage: `office` reads through `db` and may use `jobs`, and never imports
`telegram` or `bot` (texts such as status labels are passed in by the caller).
"""
