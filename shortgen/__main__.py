from shortgen.cli.app import main

main()
