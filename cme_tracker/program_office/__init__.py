"""The office's program: symposia and lectures edited from the pages and the API, the preview of what an edit
changes in members' credits and issued documents, and the job that reissues the documents it affects."""
