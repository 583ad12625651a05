from services.seats.app import main

main()
