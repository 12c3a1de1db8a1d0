"""Reports (报表): the monthly evaluation report's data, its Jinja template rendered to PDF
by WeasyPrint, the archive, and mail delivery to subscribers with retries."""
