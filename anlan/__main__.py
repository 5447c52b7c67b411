from anlan.cli import main

main()
