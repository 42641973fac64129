"""Import of the ERP ledger (dealers, orders, payments) and of exchange rates from CSV or
XLSX files.

`service.py` runs the import, `files.py` reads the files, `rows.py` checks each row.
"""

from receivables.importing.service import FileResult, ImportResult, RowError, import_ledger

__all__ = ["FileResult", "ImportResult", "RowError", "import_ledger"]
