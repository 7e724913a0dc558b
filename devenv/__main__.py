from devenv.main import main

main()
