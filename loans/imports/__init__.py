"""The contract spreadsheet import: template.py (columns and cell parsers), rows.py (the rules without a database),
lookups.py (the rules against it), write.py (the bulk write), importer.py (the use case), job.py (a large file in
the background), workbooks.py (the workbooks we write), api.py (HTTP)."""
