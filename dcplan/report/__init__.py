"""Capacity reports: assemble result objects into a document, write it as HTML/PDF/XLSX/MD/JSON."""
