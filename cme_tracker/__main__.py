from cme_tracker.cli import main

main()
