from services.users.app import main

main()
