from ketadose.cli import main

main()
