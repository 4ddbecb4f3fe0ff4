"""Long work (bulk certificates, transcripts, exports) as Job rows that worker processes run and report on."""
