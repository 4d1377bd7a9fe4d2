from tijarat.cli.main import main

main()
