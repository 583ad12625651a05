from services.teams.app import main

main()
